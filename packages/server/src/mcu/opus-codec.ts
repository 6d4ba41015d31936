/**
 * Opus in the mixer process: libopus 1.4 compiled to WebAssembly (`opusscript`, no native build,
 * no install script). Measured here (Node 20, one core of this 2-core machine) per 20 ms frame:
 * decoding ~45 us, encoding mono ~100-200 us (~95 us per mix-minus listener, its packet included,
 * in bench:mcu:mixer in Dec 2026); a room of 4 costs ~1-1.8 ms of CPU per 20 ms (5-9 % of a
 * core). An ffmpeg per input and per output (the other way considered) would be 8 processes for
 * that room, each with a pipe, an Ogg muxer and its own buffering on the way.
 */
import OpusScript from 'opusscript';
import { floatToPcm, pcmToFloat } from './mix-minus.js';

const RATE = 48_000;
/** Speech, mono: what a voice mix needs (browsers receive mono Opus on their stereo m-line). */
const BITRATE = 32_000;
/** OPUS_SET_INBAND_FEC: the next packet carries a low-rate copy of this one (the browser recovers a lost packet). */
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;

export class OpusDecoder {
  private readonly codec = new OpusScript(RATE, 1, OpusScript.Application.VOIP);

  /** One Opus packet as mono floats (any frame length the publisher chose). Throws on a corrupt packet. */
  decode(packet: Buffer): Float32Array {
    return pcmToFloat(this.codec.decode(packet));
  }

  close(): void {
    this.codec.delete();
  }
}

export class OpusEncoder {
  private readonly codec = new OpusScript(RATE, 1, OpusScript.Application.VOIP);

  constructor() {
    this.codec.setBitrate(BITRATE);
    this.codec.encoderCTL(OPUS_SET_INBAND_FEC, 1);
    this.codec.encoderCTL(OPUS_SET_PACKET_LOSS_PERC, 5);
  }

  encode(frame: Float32Array): Buffer {
    return this.codec.encode(floatToPcm(frame), frame.length);
  }

  close(): void {
    this.codec.delete();
  }
}
