/**
 * Test publishers and listeners of the MCU mixer without a browser: tones as 20 ms Opus RTP
 * packets, and the level of a frequency in decoded audio (Goertzel).
 */
import { FRAME_SAMPLES } from '../../src/mcu/mix-minus.ts';
import { OpusDecoder, OpusEncoder } from '../../src/mcu/opus-codec.ts';
import type { TrackDescription } from '../../src/recording/tracks/record-format.ts';

export const describeTrack = (participant: string, trackId = `TR_${participant}`): TrackDescription => ({ trackId, participant, source: 'microphone', kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48_000, rids: [], channels: 2 });

/** A publisher: 20 ms Opus RTP packets of a tone. */
export class TonePublisher {
  private readonly encoder = new OpusEncoder();
  private frame = 0;
  constructor(private readonly hz: number) {}

  next(): Buffer {
    const samples = Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.2 * Math.sin((2 * Math.PI * this.hz * (this.frame * FRAME_SAMPLES + i)) / 48_000));
    const payload = this.encoder.encode(samples);
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = 111;
    packet.writeUInt16BE(this.frame & 0xffff, 2);
    packet.writeUInt32BE((this.frame * FRAME_SAMPLES) >>> 0, 4);
    packet.writeUInt32BE(0x1234 + this.hz, 8);
    payload.copy(packet, 12);
    this.frame += 1;
    return packet;
  }

  close(): void {
    this.encoder.close();
  }
}

/** Goertzel power of `hz` in `samples` (relative dB). */
export function levelDb(samples: Float32Array, hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / 48_000);
  let s1 = 0;
  let s2 = 0;
  for (const sample of samples) {
    const s = sample + coefficient * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return 10 * Math.log10((s1 * s1 + s2 * s2 - coefficient * s1 * s2) / samples.length + 1e-20);
}

export function concat(frames: Float32Array[]): Float32Array {
  const out = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

/**
 * Each tone's level (dB) in a stream of Opus payloads: `levelDb` per 20 ms frame, averaged in
 * power, so a gap in the stream (a frame the mixer had no audio for) does not cancel a tone the
 * way one Goertzel over the whole stream would.
 */
export function toneLevelsDb(payloads: readonly Buffer[], tones: readonly number[]): number[] {
  const decoder = new OpusDecoder();
  const frames = payloads.map((payload) => decoder.decode(payload));
  decoder.close();
  return tones.map((hz) => {
    let power = 0;
    let count = 0;
    for (const frame of frames)
      for (let offset = 0; offset + FRAME_SAMPLES <= frame.length; offset += FRAME_SAMPLES) {
        power += 10 ** (levelDb(frame.subarray(offset, offset + FRAME_SAMPLES), hz) / 10);
        count += 1;
      }
    return count === 0 ? -200 : 10 * Math.log10(power / count);
  });
}
