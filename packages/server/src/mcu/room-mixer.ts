/**
 * The mix of one MCU room, as its mixer process runs it for the SFU worker's connection: the
 * published audio tracks (inputs) decoded into voice buffers, and each listener's mix encoded as
 * Opus RTP (outputs): the shared mix of every voice, encoded once, for listeners who publish no
 * audio, and a mix-minus of its own for each speaker (`mix-plan.ts`). `tick()` runs every 20 ms
 * on the mixer's clock.
 */
import type { TrackDescription } from '../recording/tracks/record-format.js';
import { payloadEnd, payloadOffset, payloadType, sequenceDelta, sequenceNumber } from '../sfu/rtp/rtp.js';
import { FRAME_SAMPLES, LevelNormalizer, mixRoom, type Voice } from './mix-minus.js';
import { encodesPerTick, planMixes } from './mix-plan.js';
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

/**
 * One listener's stream of RTP packets. Its numbering goes on whichever mix it carries, so a
 * listener moving between the shared mix and its own mix-minus is one continuous stream to the
 * worker and the browser (only the encoder behind the payloads changes).
 */
class Output {
  private sequence = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x1_0000_0000);
  private readonly ssrc = Math.floor(Math.random() * 0xffff_fff0) + 1;

  constructor(
    readonly number: number,
    readonly listener: string,
  ) {}

  /** One encoded frame as one RTP packet (the worker renumbers it for its listener). */
  packet(payload: Buffer): Buffer {
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
  /** The shared mix's encoder: one for every listener who publishes no audio. */
  private sharedEncoder: OpusEncoder | undefined;
  /** Each speaker's mix-minus encoder, made when it starts speaking and closed when it stops. */
  private readonly ownEncoders = new Map<string, OpusEncoder>();
  private nextOutput = 1;
  /** Opus frames encoded since this mixer started (the `parley_mcu_mix_encodes_total` metric). */
  encodes = 0;
  /** Listeners on the shared mix at the last tick. */
  sharedListeners = 0;

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
      this.ownEncoders.get(participant)?.close();
      this.ownEncoders.delete(participant);
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
    this.removeInputs((description) => description.participant === participant);
  }

  /** An audio track that was unpublished: its publisher is a speaker no more if it was its last. */
  removeInput(trackId: string): void {
    this.removeInputs((description) => description.trackId === trackId);
  }

  private removeInputs(which: (description: TrackDescription) => boolean): void {
    for (const [track, input] of this.inputs) {
      if (!which(input.description)) continue;
      input.decoder.close();
      this.inputs.delete(track);
    }
  }

  /** One 20 ms frame of every listener's mix. */
  tick(): MixedPacket[] {
    const voices: Voice[] = [];
    const speakers = new Set<string>();
    let inputArrivalMs = 0;
    for (const input of this.inputs.values()) {
      speakers.add(input.description.participant);
      const frame = input.buffer.take();
      if (!frame) continue;
      voices.push({ owner: input.description.participant, samples: input.normalizer.process(frame.samples) });
      inputArrivalMs = Math.max(inputArrivalMs, frame.arrivalMs);
    }
    const plan = planMixes(this.outputs.keys(), speakers);
    this.updateEncoders(plan.own, plan.shared.length > 0);
    const { everyone, minus } = mixRoom(voices, plan.own);
    const packets: MixedPacket[] = [];
    if (plan.shared.length > 0) {
      const payload = this.sharedEncoder!.encode(everyone);
      const arrival = voices.length > 0 ? inputArrivalMs : 0;
      for (const listener of plan.shared) packets.push(this.packetFor(listener, payload, arrival));
    }
    for (const speaker of plan.own) {
      const payload = this.ownEncoders.get(speaker)!.encode(minus.get(speaker)!);
      const heard = voices.some((voice) => voice.owner !== speaker);
      packets.push(this.packetFor(speaker, payload, heard ? inputArrivalMs : 0));
    }
    this.encodes += encodesPerTick(plan);
    this.sharedListeners = plan.shared.length;
    return packets;
  }

  private packetFor(listener: string, payload: Buffer, inputArrivalMs: number): MixedPacket {
    const output = this.outputs.get(listener)!;
    return { output: output.number, listener, packet: output.packet(payload), inputArrivalMs };
  }

  /** An encoder per speaker and one for the shared mix while anyone hears it; the others closed (each holds libopus state in WebAssembly memory). */
  private updateEncoders(speakers: readonly string[], sharedHeard: boolean): void {
    const speaking = new Set(speakers);
    for (const [listener, encoder] of this.ownEncoders) {
      if (speaking.has(listener)) continue;
      encoder.close();
      this.ownEncoders.delete(listener);
    }
    for (const speaker of speakers) if (!this.ownEncoders.has(speaker)) this.ownEncoders.set(speaker, new OpusEncoder());
    if (sharedHeard) this.sharedEncoder ??= new OpusEncoder();
    else {
      this.sharedEncoder?.close();
      this.sharedEncoder = undefined;
    }
  }

  close(): void {
    for (const input of this.inputs.values()) input.decoder.close();
    for (const encoder of this.ownEncoders.values()) encoder.close();
    this.sharedEncoder?.close();
    this.sharedEncoder = undefined;
    this.ownEncoders.clear();
    this.inputs.clear();
    this.outputs.clear();
  }

  /** Who the mix has a published audio track of (heard or silent). */
  get speakers(): Set<string> {
    const speakers = new Set<string>();
    for (const input of this.inputs.values()) speakers.add(input.description.participant);
    return speakers;
  }

  get listenerCount(): number {
    return this.outputs.size;
  }

  get inputCount(): number {
    return this.inputs.size;
  }
}
