/**
 * Opus in the mixer process: libopus 1.4 compiled to WebAssembly (`opusscript`'s build, no native
 * build, no install script). Measured here (Node 20, one core of this 2-core machine) per 20 ms
 * frame: decoding ~45 us, encoding mono ~100-200 us (~95 us per mix-minus listener, its packet
 * included, in bench:mcu:mixer); a room of 4 costs ~1-1.8 ms of CPU per 20 ms (5-9 % of a core).
 * An ffmpeg per input and per output (the other way considered) would be 8 processes for that
 * room, each with a pipe, an Ogg muxer and its own buffering on the way.
 *
 * Why not opusscript's `OpusScript` class: it places each instance's PCM buffers at twice their
 * allocated address (a byte address used as a 16-bit index: `HEAPU16.subarray(pointer, ...)`), so
 * every encode and decode writes 2-11 KB outside what it allocated, over whatever another encoder
 * or decoder in the same WebAssembly heap holds there. With a few instances that memory happened
 * to be free; as a room's participants came and went, an encoder's state was overwritten and
 * libopus answered "Bad argument", which ended the mixer process (e2e/mcu-call.test.ts, a leaver
 * rejoining, in CI). Its views also go stale when the heap grows (more instances), after which
 * every older instance throws. This wrapper drives the same native handler with buffers where it
 * allocated them, and takes the heap's current views on every call. The native side's PCM layout
 * is opusscript's: one byte of little-endian s16 PCM per 16-bit element.
 */
import { createRequire } from 'node:module';
import { floatToPcm, pcmToFloat } from './mix-minus.js';

interface NativeHandler {
  _encode(inputAddress: number, bytes: number, outputAddress: number, frameSize: number): number;
  _decode(inputAddress: number, bytes: number, outputAddress: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
}

interface NativeModule {
  OpusScriptHandler: { new (rate: number, channels: number, application: number): NativeHandler; destroy_handler(handler: NativeHandler): void };
  _malloc(bytes: number): number;
  _free(address: number): void;
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
}

let native: NativeModule | undefined;
/** The WebAssembly build, loaded once per process (synchronously, as opusscript itself does). */
function nativeModule(): NativeModule {
  native ??= (createRequire(import.meta.url)('opusscript/build/opusscript_native_wasm.js') as () => NativeModule)();
  return native;
}

const RATE = 48_000;
const CHANNELS = 1;
/** OPUS_APPLICATION_VOIP. */
const APPLICATION = 2048;
/** 60 ms, the longest Opus frame. */
const MAX_FRAME_SAMPLES = (RATE * 60) / 1000;
const MAX_PACKET_BYTES = 1276 * 3;
/** PCM bytes of the longest frame; the native side holds each byte in a 16-bit element. */
const MAX_PCM_BYTES = MAX_FRAME_SAMPLES * CHANNELS * 2;
/** Speech, mono: what a voice mix needs (browsers receive mono Opus on their stereo m-line). */
const BITRATE = 32_000;
const OPUS_SET_BITRATE = 4002;
/** OPUS_SET_INBAND_FEC: the next packet carries a low-rate copy of this one (the browser recovers a lost packet). */
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_ERRORS: Record<number, string> = { [-1]: 'bad argument', [-2]: 'buffer too small', [-3]: 'internal error', [-4]: 'invalid packet', [-5]: 'unimplemented', [-6]: 'invalid state', [-7]: 'memory allocation failed' };

/** One native handler and its buffers: PCM (two bytes of heap per PCM byte) and an Opus packet. */
class OpusHandle {
  private readonly module = nativeModule();
  private readonly handler = new this.module.OpusScriptHandler(RATE, CHANNELS, APPLICATION);
  /** Even (malloc aligns to 8), so it is also a 16-bit index times two. */
  readonly pcmAddress = this.module._malloc(2 * MAX_PCM_BYTES);
  readonly packetAddress = this.module._malloc(MAX_PACKET_BYTES);
  private closed = false;

  encode(pcm: Buffer, frameSamples: number): Buffer {
    this.open();
    this.module.HEAPU16.set(pcm, this.pcmAddress >> 1);
    const bytes = this.handler._encode(this.pcmAddress, pcm.length, this.packetAddress, frameSamples);
    if (bytes < 0) throw new Error(`Opus encode failed: ${OPUS_ERRORS[bytes] ?? bytes}`);
    return Buffer.from(this.module.HEAPU8.subarray(this.packetAddress, this.packetAddress + bytes));
  }

  decode(packet: Buffer): Buffer {
    this.open();
    if (packet.length > MAX_PACKET_BYTES) throw new Error(`Opus decode failed: a ${packet.length}-byte packet`);
    this.module.HEAPU8.set(packet, this.packetAddress);
    const samples = this.handler._decode(this.packetAddress, packet.length, this.pcmAddress);
    if (samples < 0) throw new Error(`Opus decode failed: ${OPUS_ERRORS[samples] ?? samples}`);
    const start = this.pcmAddress >> 1;
    // Each element holds one byte: Buffer.from keeps its low 8 bits.
    return Buffer.from(this.module.HEAPU16.subarray(start, start + samples * CHANNELS * 2));
  }

  control(ctl: number, arg: number): void {
    this.open();
    const result = this.handler._encoder_ctl(ctl, arg);
    if (result < 0) throw new Error(`Opus encoder control ${ctl} failed: ${OPUS_ERRORS[result] ?? result}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.module.OpusScriptHandler.destroy_handler(this.handler);
    this.module._free(this.pcmAddress);
    this.module._free(this.packetAddress);
  }

  private open(): void {
    if (this.closed) throw new Error('the Opus codec was closed');
  }
}

export class OpusDecoder {
  private readonly handle = new OpusHandle();

  /** One Opus packet as mono floats (any frame length the publisher chose). Throws on a corrupt packet. */
  decode(packet: Buffer): Float32Array {
    return pcmToFloat(this.handle.decode(packet));
  }

  close(): void {
    this.handle.close();
  }
}

export class OpusEncoder {
  private readonly handle = new OpusHandle();

  constructor() {
    this.handle.control(OPUS_SET_BITRATE, BITRATE);
    this.handle.control(OPUS_SET_INBAND_FEC, 1);
    this.handle.control(OPUS_SET_PACKET_LOSS_PERC, 5);
  }

  encode(frame: Float32Array): Buffer {
    return this.handle.encode(floatToPcm(frame), frame.length);
  }

  close(): void {
    this.handle.close();
  }
}
