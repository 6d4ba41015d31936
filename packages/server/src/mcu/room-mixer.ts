/**
 * The mix of one MCU room, as its mixer process runs it for the SFU worker's connection: the
 * published audio tracks (inputs) decoded into voice buffers, and each listener's mix-minus
 * encoded as Opus RTP (outputs). `tick()` runs every 20 ms on the mixer's clock.
 */
import type { TrackDescription } from '../recording/tracks/record-format.js';
import { payloadEnd, payloadOffset, payloadType, sequenceDelta, sequenceNumber } from '../sfu/rtp/rtp.js';
import { FRAME_SAMPLES, LevelNormalizer, mixMinus, type Voice } from './mix-minus.js';
import { OpusDecoder, OpusEncoder } from './opus-codec.js';
import { VoiceBuffer } from './voice-buffer.js';

const OPUS_PAYLOAD_TYPE = 111;

class Input {
  readonly decoder = new OpusDecoder();
  readonly buffer = new VoiceBuffer();
  readonly normalizer = new LevelNormalizer();
  lastSequence: number | undefined;
  corruptPackets = 0;

  constructor(readonly description: TrackDescription) {}
}

class Output {
  readonly encoder = new OpusEncoder();
  private sequence = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x1_0000_0000);
  private readonly ssrc = Math.floor(Math.random() * 0xffff_fff0) + 1;

  constructor(
    readonly number: number,
    readonly listener: string,
  ) {}

  /** The frame as one RTP packet (the worker renumbers it for its listener). */
  packet(frame: Float32Array): Buffer {
    const payload = this.encoder.encode(frame);
    const packet = Buffer.allocUnsafe(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = OPUS_PAYLOAD_TYPE;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    payload.copy(packet, 12);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    return packet;
  }
}

export interface MixedPacket {
  output: number;
  listener: string;
  packet: Buffer;
  /** When the newest input audio in it reached the SFU worker (0: none, a silent mix). */
  inputArrivalMs: number;
}

export class RoomMixer {
  private readonly inputs = new Map<number, Input>();
  private readonly outputs = new Map<string, Output>();
  private nextOutput = 1;

  /** A published audio track the worker feeds (frame track number -> description). */
  addInput(track: number, description: TrackDescription): void {
    this.inputs.get(track)?.decoder.close();
    this.inputs.set(track, new Input(description));
  }

  /** One RTP packet of an input, decoded into its buffer; corrupt or repeated packets are skipped. */
  receive(track: number, packet: Buffer, arrivalMs: number): void {
    const input = this.inputs.get(track);
    if (!input || packet.length < 12 || payloadType(packet) !== input.description.payloadType) return;
    const sequence = sequenceNumber(packet);
    if (input.lastSequence !== undefined && sequenceDelta(input.lastSequence, sequence) <= 0) return;
    input.lastSequence = sequence;
    const start = payloadOffset(packet);
    const end = payloadEnd(packet);
    if (start < 0 || end <= start) return;
    try {
      input.buffer.push(input.decoder.decode(packet.subarray(start, end)), arrivalMs);
    } catch {
      input.corruptPackets += 1;
    }
  }

  /** A participant listens (or no longer): answers the new output to announce, if any. */
  setListener(participant: string, listening: boolean): Output | undefined {
    const existing = this.outputs.get(participant);
    if (!listening) {
      existing?.encoder.close();
      this.outputs.delete(participant);
      return undefined;
    }
    if (existing) return undefined;
    const output = new Output(this.nextOutput++, participant);
    this.outputs.set(participant, output);
    return output;
  }

  /** Inputs whose publisher left stop being fed; their decoders go with the worker's removal of the track. */
  removeInputsOf(participant: string): void {
    for (const [track, input] of this.inputs) {
      if (input.description.participant !== participant) continue;
      input.decoder.close();
      this.inputs.delete(track);
    }
  }

  /** One 20 ms frame of every listener's mix. */
  tick(): MixedPacket[] {
    const voices: Voice[] = [];
    let inputArrivalMs = 0;
    for (const input of this.inputs.values()) {
      const frame = input.buffer.take();
      if (!frame) continue;
      voices.push({ owner: input.description.participant, samples: input.normalizer.process(frame.samples) });
      inputArrivalMs = Math.max(inputArrivalMs, frame.arrivalMs);
    }
    const mixes = mixMinus(voices, [...this.outputs.keys()]);
    const packets: MixedPacket[] = [];
    for (const [listener, mix] of mixes) {
      const output = this.outputs.get(listener)!;
      const heard = voices.some((voice) => voice.owner !== listener);
      packets.push({ output: output.number, listener, packet: output.packet(mix), inputArrivalMs: heard ? inputArrivalMs : 0 });
    }
    return packets;
  }

  close(): void {
    for (const input of this.inputs.values()) input.decoder.close();
    for (const output of this.outputs.values()) output.encoder.close();
    this.inputs.clear();
    this.outputs.clear();
  }

  get listenerCount(): number {
    return this.outputs.size;
  }

  get inputCount(): number {
    return this.inputs.size;
  }
}
