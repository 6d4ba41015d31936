/**
 * Audio/video sync of a "flash and beep" source: a picture that turns white at the instants its
 * audio beeps. Reads a file's per-frame brightness (ffmpeg `showinfo` on an 8x8 gray picture) and
 * its audio energy (raw PCM), finds each flash's and each beep's onset, and pairs them.
 *
 * The pure parts (`onsets`, `pairOnsets`, `audioEnvelope`) take numbers; `flashTimes` and
 * `beepTimes` run ffmpeg. Times are the file's own timestamps in seconds (`-copyts`: nothing is
 * shifted to zero), so a per-track file is placed on a clock by adding its start time, and a
 * file holding both streams is compared as it is.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Sample {
  /** seconds */
  at: number;
  value: number;
}

/**
 * The instants `samples` go from low to high: a sample at or above the midpoint between the
 * lowest and highest value after `minGapSeconds` below it. A signal already high at its first
 * sample has no onset there (the event began before the file: its start is unknown). Answers []
 * for a flat signal (no contrast of at least `minContrast`), so silence or a still picture has
 * no onsets.
 */
export function onsets(samples: readonly Sample[], options: { minGapSeconds: number; minContrast: number }): number[] {
  if (samples.length === 0) return [];
  let low = Infinity;
  let high = -Infinity;
  for (const { value } of samples) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  if (high - low < options.minContrast) return [];
  const threshold = (low + high) / 2;
  const found: number[] = [];
  let lastHigh = samples[0]!.value >= threshold ? samples[0]!.at : -Infinity;
  for (const { at, value } of samples) {
    if (value < threshold) continue;
    if (at - lastHigh >= options.minGapSeconds) found.push(at);
    lastHigh = at;
  }
  return found;
}

export interface SyncPair {
  flash: number;
  beep: number;
  /** beep - flash, in ms: positive when the audio is late. */
  offsetMs: number;
}

export interface SyncReport {
  pairs: SyncPair[];
  /** Flashes with no beep within `windowMs`, and beeps with no flash. */
  unpairedFlashes: number[];
  unpairedBeeps: number[];
  maxAbsOffsetMs: number;
  medianOffsetMs: number;
}

/** Pairs each flash with the nearest beep no further than `windowMs` (half the period is a good window). */
export function pairOnsets(flashes: readonly number[], beeps: readonly number[], windowMs: number): SyncReport {
  const pairs: SyncPair[] = [];
  const used = new Set<number>();
  const unpairedFlashes: number[] = [];
  for (const flash of flashes) {
    let best = -1;
    for (let i = 0; i < beeps.length; i++) {
      if (used.has(i)) continue;
      if (best === -1 || Math.abs(beeps[i]! - flash) < Math.abs(beeps[best]! - flash)) best = i;
    }
    if (best !== -1 && Math.abs(beeps[best]! - flash) * 1000 <= windowMs) {
      used.add(best);
      pairs.push({ flash, beep: beeps[best]!, offsetMs: (beeps[best]! - flash) * 1000 });
    } else unpairedFlashes.push(flash);
  }
  const unpairedBeeps = beeps.filter((_, i) => !used.has(i));
  const offsets = pairs.map((pair) => pair.offsetMs).sort((a, b) => a - b);
  const median = offsets.length === 0 ? NaN : offsets.length % 2 ? offsets[(offsets.length - 1) / 2]! : (offsets[offsets.length / 2 - 1]! + offsets[offsets.length / 2]!) / 2;
  return { pairs, unpairedFlashes, unpairedBeeps, maxAbsOffsetMs: Math.max(0, ...offsets.map(Math.abs)), medianOffsetMs: median };
}

/** RMS of consecutive `windowSamples`-long windows of mono s16le PCM; each window timed at its start. */
export function audioEnvelope(pcm: Buffer, sampleRate: number, windowSamples: number, startSeconds = 0): Sample[] {
  const count = Math.floor(pcm.length / 2);
  const envelope: Sample[] = [];
  for (let start = 0; start + windowSamples <= count; start += windowSamples) {
    let sum = 0;
    for (let i = start; i < start + windowSamples; i++) {
      const value = pcm.readInt16LE(i * 2);
      sum += value * value;
    }
    envelope.push({ at: startSeconds + start / sampleRate, value: Math.sqrt(sum / windowSamples) });
  }
  return envelope;
}

export interface Region {
  /** Crop (in pixels of the decoded picture) to the part that flashes, e.g. one tile of a composite. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Mean luma (0-255) of every decoded frame of the first video stream, with its timestamp. */
export async function frameBrightness(file: string, region?: Region): Promise<Sample[]> {
  const crop = region ? `crop=${region.width}:${region.height}:${region.x}:${region.y},` : '';
  const { stderr } = await exec('ffmpeg', ['-nostdin', '-hide_banner', '-copyts', '-i', file, '-map', '0:v:0', '-vf', `${crop}scale=8:8:flags=area,format=gray,showinfo`, '-fps_mode', 'passthrough', '-f', 'null', '-'], { maxBuffer: 256 * 1024 * 1024 });
  const samples: Sample[] = [];
  for (const line of stderr.split('\n')) {
    const match = /pts_time:\s*(-?[\d.]+).*\bmean:\[(\d+)/.exec(line);
    if (match) samples.push({ at: Number(match[1]), value: Number(match[2]) });
  }
  if (samples.length === 0) throw new Error(`${file}: no video frame decoded`);
  return samples;
}

/** When the picture turns white: the first bright frame of each flash. */
export async function flashTimes(file: string, region?: Region): Promise<number[]> {
  return onsets(await frameBrightness(file, region), { minGapSeconds: 0.3, minContrast: 60 });
}

const PCM_RATE = 48_000;
/** Band-pass quality: narrow enough to keep one of tones a fifth apart out of a mix. */
const BAND_Q = 8;
/** 2.5 ms windows: a beep's onset is found within ~3 ms. */
const ENVELOPE_WINDOW = 120;

/**
 * When the audio beeps: the first loud 2.5 ms window of each beep. `bandHz` keeps one tone of a
 * mix (a bandpass around it) so one publisher's beeps are found among other voices.
 */
export async function beepTimes(file: string, bandHz?: number): Promise<number[]> {
  return (await beepsOf(file, bandHz)).beeps;
}

/**
 * `beepTimes`, and where the first audio stream ends on the file's clock: a flash later than the
 * end minus a beep's length has no whole beep in the file (the recording stopped in it), so it
 * is not a sync failure.
 */
export async function beepsOf(file: string, bandHz?: number): Promise<{ beeps: number[]; audioEndSeconds: number }> {
  const band = bandHz ? `bandpass=f=${bandHz}:width_type=q:w=${BAND_Q},bandpass=f=${bandHz}:width_type=q:w=${BAND_Q},` : '';
  // async=1 fills a hole in the timestamps with silence and first_pts=0 pads the start, so the
  // raw PCM's sample n is at n/48000 s on the file's clock (raw PCM carries no timestamps).
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-copyts', '-i', file, '-map', '0:a:0', '-af', `${band}aresample=async=1:first_pts=0`, '-ac', '1', '-ar', String(PCM_RATE), '-f', 's16le', '-'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  const found = onsets(audioEnvelope(stdout, PCM_RATE, ENVELOPE_WINDOW), { minGapSeconds: 0.3, minContrast: 300 });
  // A resonator rings up with time constant 2Q/ω: two in a row cross half height ~2Q/(πf) late
  // (5.1 ms at 1 kHz; 5.0 ms measured in av-sync.test.ts).
  const rise = bandHz ? (2 * BAND_Q) / (Math.PI * bandHz) : 0;
  return { beeps: found.map((at) => at - rise), audioEndSeconds: stdout.length / 2 / PCM_RATE };
}

/** RMS level (dB full scale) of the first audio stream's content near `hz` (two band-passes), over the whole file. */
export async function toneLevelDb(file: string, hz: number): Promise<number> {
  const { stderr } = await exec('ffmpeg', ['-nostdin', '-hide_banner', '-i', file, '-map', '0:a:0', '-af', `bandpass=f=${hz}:width_type=q:w=${BAND_Q},bandpass=f=${hz}:width_type=q:w=${BAND_Q},astats=measure_perchannel=none`, '-f', 'null', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const match = /Overall[\s\S]*?RMS level dB:\s*(-?[\d.]+|-inf)/.exec(stderr);
  if (!match) throw new Error(`${file}: astats printed no RMS level`);
  return match[1] === '-inf' ? -Infinity : Number(match[1]);
}
