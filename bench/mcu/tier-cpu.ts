/**
 * `npm run bench:mcu:tiers`: what one grid encode costs at each MCU video tier (`mcu.videoTiers`),
 * no browser: the mixer's own encoder (`GridEncoder`: ffmpeg's libvpx with the mixer's realtime
 * settings) fed a moving picture at the tier's size and frame rate in real time, its ffmpeg's CPU
 * (user + system, /proc) over the window as a share of a core. The picture is ffmpeg's `testsrc2`
 * (everything moves: an upper bound for a grid, whose tiles of still backgrounds cost less),
 * made once before the window and looped.
 *
 *   npm run bench:mcu:tiers                                   # the default tiers, 15 s each
 *   npm run bench:mcu:tiers -- --tiers 640x360@15:600,1280x720@20:2000 --seconds 20
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_VIDEO_TIERS, parseVideoTiers } from '../../packages/server/src/config/config.ts';
import { GridEncoder } from '../../packages/server/src/mcu/video/ffmpeg-video.ts';
import type { GridTier } from '../../packages/server/src/mcu/video/grid.ts';
import { i420Size } from '../../packages/server/src/mcu/video/i420.ts';
import { optionsOrExit } from '../cli.ts';

const USAGE = `usage: npm run bench:mcu:tiers -- [options]

One MCU grid encode's CPU per video tier (no browser).

  --tiers LIST   WIDTHxHEIGHT@FPS:KBPS,... (default: mcu.videoTiers' defaults)
  --seconds T    measured window per tier, after 2 s of warm-up (default 15)
  --ffmpeg PATH  (default ffmpeg)`;

interface Options {
  tiers: GridTier[];
  seconds: number;
  ffmpeg: string;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, options: { tiers: { type: 'string' }, seconds: { type: 'string' }, ffmpeg: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return 'help';
  const tiers = values.tiers === undefined ? DEFAULT_VIDEO_TIERS.map((tier) => ({ ...tier })) : (parseVideoTiers(values.tiers) as Array<Record<keyof GridTier, string>>).map((t) => ({ width: Number(t.width), height: Number(t.height), fps: Number(t.fps), bitrateKbps: Number(t.bitrateKbps) }));
  const seconds = Number(values.seconds ?? '15');
  if (!(seconds > 0)) throw new Error(`--seconds: not a duration: ${values.seconds}`);
  return { tiers, seconds, ffmpeg: values.ffmpeg ?? 'ffmpeg' };
}

const options = optionsOrExit(parse, USAGE);
const WARMUP_MS = 2_000;
const CLOCK_TICKS_PER_SECOND = 100;
const LOOP_SECONDS = 2;

/** `LOOP_SECONDS` of testsrc2 at the tier's size and rate, as I420 pictures. */
function pictures(tier: GridTier): Buffer[] {
  const raw = execFileSync(options.ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${tier.width}x${tier.height}:rate=${tier.fps}`, '-t', String(LOOP_SECONDS), '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 30 });
  const size = i420Size(tier.width, tier.height);
  const frames: Buffer[] = [];
  for (let offset = 0; offset + size <= raw.length; offset += size) frames.push(raw.subarray(offset, offset + size));
  return frames;
}

/** CPU seconds (user + system) of this process's ffmpeg children. */
function childrenCpuSeconds(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

async function measure(tier: GridTier): Promise<{ share: number; kbps: number; frames: number }> {
  const frames = pictures(tier);
  let bytes = 0;
  let encoded = 0;
  let counting = false;
  const errors: string[] = [];
  const encoder = new GridEncoder(
    { ffmpegPath: options.ffmpeg, width: tier.width, height: tier.height, onError: (message) => errors.push(message) },
    { fps: tier.fps, bitrateKbps: tier.bitrateKbps, keyframeInterval: tier.fps * 4 },
    (frame) => {
      if (!counting) return;
      bytes += frame.length;
      encoded += 1;
    },
  );
  const interval = 1000 / tier.fps;
  const start = performance.now();
  let index = 0;
  let cpuAtStart = 0;
  let measuredFrom = 0;
  const end = start + WARMUP_MS + options.seconds * 1000;
  // Paced by the wall clock as the mixer's tick is.
  while (performance.now() < end) {
    encoder.encode({ width: tier.width, height: tier.height, data: frames[index % frames.length]! });
    index += 1;
    if (!counting && performance.now() - start >= WARMUP_MS) {
      counting = true;
      cpuAtStart = childrenCpuSeconds();
      measuredFrom = performance.now();
    }
    const next = start + index * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const seconds = (performance.now() - measuredFrom) / 1000;
  const cpu = childrenCpuSeconds() - cpuAtStart;
  encoder.close();
  if (errors.length > 0) throw new Error(`the encoder failed: ${errors.join('; ')}`);
  return { share: cpu / seconds, kbps: (bytes * 8) / seconds / 1000, frames: encoded / seconds };
}

console.log(`| tier | encode CPU (share of a core) | sent kbit/s | frames/s |`);
console.log(`|---|---|---|---|`);
for (const tier of options.tiers) {
  const result = await measure(tier);
  console.log(`| ${tier.width}x${tier.height}@${tier.fps} ${tier.bitrateKbps} kbit/s | ${(result.share * 100).toFixed(1)} % | ${Math.round(result.kbps)} | ${result.frames.toFixed(1)} |`);
}
