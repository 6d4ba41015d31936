/**
 * The arithmetic of an MCU room's audio mix (pure, no I/O): each voice brought to one level, the
 * sum of every voice (what listeners who publish no audio hear), and for each speaker the sum of
 * everyone else's (mix-minus: never their own voice), kept within full scale. Samples are floats in [-1, 1], mono, 48 kHz, one 20 ms frame at a time.
 */

/** Samples of one 20 ms frame at 48 kHz: the mixer's clock and Opus's frame. */
export const FRAME_SAMPLES = 960;
/** The level every voice is brought to: -20 dBFS RMS, so three at once stay under the limiter's knee. */
export const TARGET_RMS = 0.1;
/** Frames quieter than this (-50 dBFS) are silence or noise: they leave the gain as it is (no pumping up of hiss). */
export const GATE_RMS = 0.003_16;
/** At most 18 dB up (a quiet microphone), at most 12 dB down (a shouting one). */
export const MAX_GAIN = 8;
export const MIN_GAIN = 0.25;
/** Per frame, how far the level estimate and the gain move toward the new value (~100 ms time constants). */
const LEVEL_SMOOTHING = 0.2;
const GAIN_SMOOTHING = 0.2;
/** Above this magnitude a sum is compressed smoothly toward full scale instead of clipping. */
export const LIMITER_KNEE = 0.5;

export function rms(frame: Float32Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  return frame.length === 0 ? 0 : Math.sqrt(sum / frame.length);
}

/**
 * One voice's automatic gain: a slow estimate of its speaking level (frames above the gate only),
 * and the gain that brings it to TARGET_RMS, clamped and smoothed so it never jumps.
 */
export class LevelNormalizer {
  private level: number | undefined;
  gain = 1;

  /** The frame at the target level (a new array; `frame` is left as it is). */
  process(frame: Float32Array): Float32Array {
    const frameRms = rms(frame);
    if (frameRms > GATE_RMS) {
      this.level = this.level === undefined ? frameRms : this.level + LEVEL_SMOOTHING * (frameRms - this.level);
      const wanted = Math.min(MAX_GAIN, Math.max(MIN_GAIN, TARGET_RMS / this.level));
      this.gain += GAIN_SMOOTHING * (wanted - this.gain);
    }
    const out = new Float32Array(frame.length);
    for (let i = 0; i < frame.length; i++) out[i] = frame[i]! * this.gain;
    return out;
  }
}

/** A smooth limiter: the identity up to the knee, then a tanh curve that never reaches full scale. */
export function softLimit(sample: number): number {
  const magnitude = Math.abs(sample);
  if (magnitude <= LIMITER_KNEE) return sample;
  const room = 1 - LIMITER_KNEE;
  return Math.sign(sample) * (LIMITER_KNEE + room * Math.tanh((magnitude - LIMITER_KNEE) / room));
}

export interface Voice {
  /** Who speaks it: a listener never hears voices of their own (their microphone, their screen's audio). */
  owner: string;
  samples: Float32Array;
}

/** One tick's mixes: the mix of every voice, and each speaker's mix without its own voices. */
export interface RoomMix {
  /** Every voice: what everyone who publishes no audio hears (one encode shared by all of them). */
  everyone: Float32Array;
  /** Per speaker asked for: everyone else's voices (mix-minus). */
  minus: Map<string, Float32Array>;
}

/**
 * The mix of every voice, and for each of `speakers` everyone else's. The sum of all voices is
 * made once and each speaker's own voices are taken out of it: O(voices + speakers) per sample
 * rather than O(voices x speakers). The sum is kept in float64, so what is taken out leaves no
 * trace (a float32 sum would leave ~1e-7 of the speaker's own voice, -140 dB).
 */
export function mixRoom(voices: readonly Voice[], speakers: readonly string[], frameSamples = FRAME_SAMPLES): RoomMix {
  const total = new Float64Array(frameSamples);
  const own = new Map<string, Float64Array>();
  for (const { owner, samples } of voices) {
    let mine = own.get(owner);
    if (!mine) own.set(owner, (mine = new Float64Array(frameSamples)));
    for (let i = 0; i < frameSamples; i++) {
      const sample = samples[i] ?? 0;
      total[i]! += sample;
      mine[i]! += sample;
    }
  }
  const everyone = new Float32Array(frameSamples);
  for (let i = 0; i < frameSamples; i++) everyone[i] = softLimit(total[i]!);
  const minus = new Map<string, Float32Array>();
  for (const speaker of speakers) {
    const mine = own.get(speaker);
    if (!mine) {
      // A speaker with nothing buffered this tick (its buffer primes or ran dry) hears everyone.
      minus.set(speaker, everyone);
      continue;
    }
    const out = new Float32Array(frameSamples);
    for (let i = 0; i < frameSamples; i++) out[i] = softLimit(total[i]! - mine[i]!);
    minus.set(speaker, out);
  }
  return { everyone, minus };
}

/** For each listener, everyone else's voices summed and limited (`mixRoom`, one map entry per listener). */
export function mixMinus(voices: readonly Voice[], listeners: readonly string[], frameSamples = FRAME_SAMPLES): Map<string, Float32Array> {
  const { everyone, minus } = mixRoom(voices, listeners, frameSamples);
  return new Map(listeners.map((listener) => [listener, minus.get(listener) ?? everyone]));
}

/** Decoded s16le PCM (mono) as floats. */
export function pcmToFloat(pcm: Buffer): Float32Array {
  const out = new Float32Array(pcm.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2) / 32768;
  return out;
}

/** Floats in [-1, 1] as s16le PCM for the encoder. */
export function floatToPcm(samples: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  return out;
}
