/**
 * `exportComposite` with the real ffmpeg on per-track files made by ffmpeg's lavfi sources (the
 * shapes the tracks export writes: VP8 WebM video, Opus WebM audio): the grid, each track at its
 * place in time, the mix; and the clear errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { exportComposite } from '../../../src/recording/composite/composite-export.ts';
import { CompositeError, type CompositeInput } from '../../../src/recording/composite/layout.ts';
import { decodeErrors, probe } from '../../media-tools.ts';

const exec = promisify(execFile);
const tools = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
const dir = await mkdtemp(join(tmpdir(), 'parley-composite-'));
after(() => rm(dir, { recursive: true, force: true }));

async function video(name: string, colour: string, seconds: number): Promise<string> {
  await exec('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${colour}:s=640x360:r=20:d=${seconds}`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-f', 'webm', join(dir, name)]);
  return name;
}

async function audio(name: string, hz: number, seconds: number): Promise<string> {
  await exec('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=${hz}:r=48000:d=${seconds}`, '-c:a', 'libopus', '-f', 'webm', join(dir, name)]);
  return name;
}

const input = (participant: string, kind: 'audio' | 'video', file: string, startMs: number, durationSeconds: number): CompositeInput => ({ participant, source: kind === 'video' ? 'camera' : 'microphone', kind, file, startNtpMs: startMs, startArrivalMs: startMs + 15, durationSeconds });

async function pixel(file: string, seconds: number, x: number, y: number): Promise<number[]> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-ss', String(seconds), '-i', join(dir, file), '-frames:v', '1', '-vf', `crop=2:2:${x}:${y},scale=1:1`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout];
}

async function bandRms(file: string, hz: number, from: number, to: number): Promise<number> {
  const { stderr } = await exec('ffmpeg', ['-nostdin', '-hide_banner', '-ss', String(from), '-to', String(to), '-i', join(dir, file), '-af', `bandpass=f=${hz}:width_type=q:w=8,astats=measure_perchannel=none`, '-f', 'null', '-']);
  return Number(/Overall[\s\S]*?RMS level dB:\s*(-?[\d.]+)/.exec(stderr)?.[1] ?? -200);
}

const red = [255, 0, 0];
const blue = [0, 0, 255];
const near = (got: number[], want: number[]) => got.every((value, i) => Math.abs(value - want[i]!) <= 40);

describe('composite export', () => {
  test('two publishers, the second 1.5 s later: a 1280x720 VP8 + Opus WebM of 4.5 s; each tile black until its track starts; each tone from its own start', async () => {
    const inputs = [
      input('alice', 'video', await video('a-video.webm', 'red', 3), 10_000, 3),
      input('alice', 'audio', await audio('a-audio.webm', 500, 3), 10_000, 3),
      input('bob', 'video', await video('b-video.webm', 'blue', 3), 11_500, 3),
      input('bob', 'audio', await audio('b-audio.webm', 1000, 3), 11_500, 3),
    ];
    const result = await exportComposite(dir, inputs, tools);
    console.log(`composite of 2 x 3 s, ${result.durationSeconds} s: encoded in ${result.encodeSeconds.toFixed(2)} s`);
    assert.equal(result.file, 'composite.webm');
    assert.equal(result.startMs, 10_015);
    assert.deepEqual(result.tracks.map((t) => [t.participant, t.kind, t.offsetSeconds, t.tile?.x ?? null]), [['alice', 'video', 0, 0], ['alice', 'audio', 0, null], ['bob', 'video', 1.5, 640], ['bob', 'audio', 1.5, null]]);
    const probed = await probe(join(dir, result.file));
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - 4.5) < 0.1, `${probed.durationSeconds} s`);
    assert.equal(await decodeErrors(join(dir, result.file)), '');
    assert.ok(near(await pixel(result.file, 0.5, 320, 360), red), 'alice at 0.5 s');
    assert.ok(near(await pixel(result.file, 0.5, 960, 360), [0, 0, 0]), 'bob not yet at 0.5 s: black');
    assert.ok(near(await pixel(result.file, 2, 960, 360), blue), 'bob at 2 s');
    assert.ok(near(await pixel(result.file, 4, 320, 360), [0, 0, 0]), 'alice ended at 3 s: black at 4 s');
    // Around 1 kHz before bob starts there is only alice's 500 Hz leaking through the band-pass.
    const before = await bandRms(result.file, 1000, 0.2, 1.3);
    const during = await bandRms(result.file, 1000, 2, 2.8);
    const alice = await bandRms(result.file, 500, 0.2, 2.8);
    console.log(`1 kHz band: ${before.toFixed(1)} dB before bob, ${during.toFixed(1)} dB after; 500 Hz band ${alice.toFixed(1)} dB`);
    assert.ok(during > before + 20, "bob's 1 kHz only from his start");
    assert.ok(alice > -30, "alice's 500 Hz (lavfi's sine is at 1/8 of full scale: -21 dB RMS)");
  });

  test('nothing to compose, or no ffmpeg: a clear error', async () => {
    await assert.rejects(exportComposite(dir, [input('a', 'video', 'x.webm', 0, 0)], tools), (error: unknown) => error instanceof CompositeError && /no track has a file/.test(error.message));
    await assert.rejects(exportComposite(dir, [input('a', 'video', 'a-video.webm', 0, 3)], { ...tools, ffmpegPath: '/nonexistent/ffmpeg' }), /install Debian's ffmpeg package/);
  });
});
