/**
 * One publisher's decoded audio waiting for the mixer's next 20 ms tick (pure: no codec, no I/O).
 * Packets arrive when the network delivers them, ticks come from the mixer's clock: the buffer
 * absorbs the difference. It starts handing out frames once PRIME_SAMPLES are in (and again
 * after running dry), and drops the oldest audio past MAX_SAMPLES, so a publisher that sent a
 * burst (after a stall) does not stay late in everyone's mix.
 */
import { FRAME_SAMPLES } from './mix-minus.js';

/** Two frames: one tick of the mixer's timer jitter plus one of the network's. */
export const PRIME_SAMPLES = 2 * FRAME_SAMPLES;
/** Five frames (100 ms): more is a backlog, dropped down to PRIME_SAMPLES. */
export const MAX_SAMPLES = 5 * FRAME_SAMPLES;

interface Chunk {
  samples: Float32Array;
  offset: number;
  /** When the SFU worker received the packet (ms, performance.timeOrigin + now()). */
  arrivalMs: number;
}

export class VoiceBuffer {
  private readonly chunks: Chunk[] = [];
  private buffered = 0;
  private primed = false;
  /** Samples dropped as backlog, and ticks that found the buffer dry (for the mixer's log). */
  droppedSamples = 0;
  underruns = 0;

  get bufferedSamples(): number {
    return this.buffered;
  }

  push(samples: Float32Array, arrivalMs: number): void {
    if (samples.length === 0) return;
    this.chunks.push({ samples, offset: 0, arrivalMs });
    this.buffered += samples.length;
    if (this.buffered >= PRIME_SAMPLES) this.primed = true;
    if (this.buffered > MAX_SAMPLES) this.discard(this.buffered - PRIME_SAMPLES);
  }

  /** The next frame and when its newest audio arrived, or undefined while priming or dry. */
  take(frameSamples = FRAME_SAMPLES): { samples: Float32Array; arrivalMs: number } | undefined {
    if (!this.primed) return undefined;
    if (this.buffered < frameSamples) {
      this.primed = false;
      this.underruns += 1;
      return undefined;
    }
    const out = new Float32Array(frameSamples);
    let filled = 0;
    let arrivalMs = 0;
    while (filled < frameSamples) {
      const chunk = this.chunks[0]!;
      const count = Math.min(frameSamples - filled, chunk.samples.length - chunk.offset);
      out.set(chunk.samples.subarray(chunk.offset, chunk.offset + count), filled);
      filled += count;
      chunk.offset += count;
      arrivalMs = chunk.arrivalMs;
      if (chunk.offset === chunk.samples.length) this.chunks.shift();
    }
    this.buffered -= frameSamples;
    return { samples: out, arrivalMs };
  }

  private discard(count: number): void {
    this.droppedSamples += count;
    this.buffered -= count;
    while (count > 0) {
      const chunk = this.chunks[0]!;
      const available = chunk.samples.length - chunk.offset;
      if (available <= count) {
        this.chunks.shift();
        count -= available;
      } else {
        chunk.offset += count;
        count = 0;
      }
    }
  }
}
