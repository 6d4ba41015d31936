/**
 * `npm run bench:mcu:mixer`: an MCU room's mixer process CPU for a webinar, S speakers and N
 * listeners who publish nothing, no browser: the speakers' Opus tones go in through the SFU
 * worker's side of the connection (MixerLink) in real time, every listener's mix comes back.
 * The mixer's CPU (user + system, /proc) over the window, per 20 ms tick and as a share of a core.
 * `--root DIR` runs the mixer of another checkout of Parley (same wire), to compare before/after:
 *
 *   npm run bench:mcu:mixer -- --listeners 10,50
 *   npm run bench:mcu:mixer -- --listeners 10,50 --root /path/to/older/parley
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FRAME_SAMPLES } from '../../packages/server/src/mcu/mix-minus.ts';
import type { MixerStats } from '../../packages/server/src/mcu/mixer-main.ts';
import type { MixerProcess as MixerProcessType } from '../../packages/server/src/mcu/mixer-process.ts';
import { OpusEncoder } from '../../packages/server/src/mcu/opus-codec.ts';
import { MixerLink } from '../../packages/server/src/sfu/worker/mixer-link.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';

const USAGE = `usage: npm run bench:mcu:mixer -- [options]

An MCU mixer process's CPU for S speakers and N listeners who publish nothing (no browser).

  --speakers S      speakers, each publishing a tone (default 3)
  --listeners LIST  listener counts, one run each (default 10,50)
  --seconds T       measured window per run, after 3 s of warm-up (default 10)
  --root DIR        the Parley checkout whose mixer runs (default this one)`;

interface Options {
  speakers: number;
  listeners: number[];
  seconds: number;
  root: string;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, options: { speakers: { type: 'string' }, listeners: { type: 'string' }, seconds: { type: 'string' }, root: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return 'help';
  const count = (value: string, what: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: not a count: ${value}`);
    return n;
  };
  return {
    speakers: count(values.speakers ?? '3', '--speakers'),
    listeners: (values.listeners ?? '10,50').split(',').map((n) => count(n, '--listeners')),
    seconds: count(values.seconds ?? '10', '--seconds'),
    root: resolve(values.root ?? new URL('../..', import.meta.url).pathname),
  };
}

const options = optionsOrExit(parse, USAGE);
const WARMUP_MS = 3_000;
const CLOCK_TICKS_PER_SECOND = 100;

/** One second of a tone as Opus RTP payloads, replayed in a loop (an integer number of cycles per second: seamless). */
function toneSecond(hz: number): Buffer[] {
  const encoder = new OpusEncoder();
  const payloads = Array.from({ length: 50 }, (_, frame) => Buffer.from(encoder.encode(Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.2 * Math.sin((2 * Math.PI * hz * (frame * FRAME_SAMPLES + i)) / 48_000)))));
  encoder.close();
  return payloads;
}

function rtp(payload: Buffer, sequence: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE((sequence * FRAME_SAMPLES) >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  payload.copy(packet, 12);
  return packet;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

const { MixerProcess } = (await import(pathToFileURL(`${options.root}/packages/server/src/mcu/mixer-process.ts`).href)) as { MixerProcess: typeof MixerProcessType };
console.log(`MCU mixer CPU: ${options.speakers} speakers, listeners ${options.listeners.join(', ')}; mixer of ${options.root}`);
console.log('| speakers | listeners | mixer CPU, % of a core | per 20 ms tick | packets back per s | encodes per tick | late ticks | RSS |');
console.log('|---|---|---|---|---|---|---|---|');
cleanUpOnSignals();
const tones = Array.from({ length: options.speakers }, (_, i) => toneSecond(300 + 700 * i));
try {
  for (const listeners of options.listeners) {
    const stats: MixerStats[] = [];
    const mixer = await MixerProcess.start({ room: 'bench', secret: 'bench' }, (error) => console.error(`the mixer reported: ${error}`), (s: MixerStats) => stats.push(s));
    const stopMixer = onCleanup(() => mixer.stop());
    let packetsBack = 0;
    const link = new MixerLink({ target: { recording: 'bench', port: mixer.port, secret: 'bench' }, onError: (message) => console.error(message), onMixed: () => void (packetsBack += 1) });
    const speakers = tones.map((_, i) => `speaker-${i}`);
    const inputs = speakers.map((speaker) => link.input({ trackId: `TR_${speaker}`, participant: speaker, source: 'microphone', kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48_000, rids: [], channels: 2 }));
    for (const participant of [...speakers, ...Array.from({ length: listeners }, (_, i) => `listener-${i}`)]) link.listener(participant, true);
    let sequence = 0;
    // setInterval drifts late, never early: the mixer's buffers absorb it as they do a browser's jitter.
    const feeding = setInterval(() => {
      for (const [i, input] of inputs.entries()) input.rtp(0, rtp(tones[i]![sequence % 50]!, sequence, 0x1000 + i));
      sequence += 1;
    }, 20);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const pid = mixer.pid!;
    const [cpuStart, startedAt, packetsStart, statsStart] = [cpuSeconds(pid), performance.now(), packetsBack, stats.length];
    await new Promise((r) => setTimeout(r, options.seconds * 1000));
    const cpu = cpuSeconds(pid) - cpuStart;
    const elapsed = (performance.now() - startedAt) / 1000;
    const packets = packetsBack - packetsStart;
    const window = stats.slice(statsStart);
    const ticks = window.reduce((n, s) => n + s.ticks, 0);
    const encodes = window.reduce((n, s) => n + s.encodes, 0);
    const late = window.reduce((n, s) => n + s.lateTicks, 0);
    // A mixer without stats messages (before they existed): one encode per listener.
    const encodesPerTick = ticks > 0 ? (encodes / ticks).toFixed(1) : `${speakers.length + listeners} (no stats)`;
    console.log(`| ${speakers.length} | ${listeners} | ${((cpu / elapsed) * 100).toFixed(1)} % | ${((cpu / (elapsed * 50)) * 1e6).toFixed(0)} µs | ${(packets / elapsed).toFixed(0)} | ${encodesPerTick} | ${ticks > 0 ? late : '-'} | ${rssMb(pid).toFixed(0)} MB |`);
    clearInterval(feeding);
    link.close();
    await mixer.stop();
    stopMixer();
  }
} finally {
  await runCleanups();
}
