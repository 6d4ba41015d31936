/**
 * `exportComposite` with the real ffmpeg on per-track files made by ffmpeg's lavfi sources (the
 * shapes the tracks export writes: VP8 WebM video, Opus WebM audio): the speaker big and the
 * others in the strip, changing when the other one speaks; each track at its place in time, the
 * mix; the levels read from a file; and the clear errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { audioLevels } from '../../../src/recording/composite/audio-levels.ts';
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

/** A tone of `hz` (lavfi's sine: 1/8 of full scale, -21 dB RMS) sounding only where `sounds` (an ffmpeg expression of t) is non-zero. */
async function audio(name: string, hz: number, seconds: number, sounds = '1'): Promise<string> {
  await exec('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=${hz}:r=48000:d=${seconds}`, '-af', `volume='${sounds}':eval=frame`, '-c:a', 'libopus', '-f', 'webm', join(dir, name)]);
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
  test('alice speaks first, bob (1 s later) from 2.5 s: a 1280x720 VP8 + Opus WebM of 4.5 s; alice big and bob in the strip, then bob big and alice in the strip; each tone from its own start', async () => {
    const inputs = [
      input('alice', 'video', await video('a-video.webm', 'red', 4.5), 10_000, 4.5),
      input('alice', 'audio', await audio('a-audio.webm', 500, 4.5, 'lt(t,2)'), 10_000, 4.5),
      input('bob', 'video', await video('b-video.webm', 'blue', 3.5), 11_000, 3.5),
      input('bob', 'audio', await audio('b-audio.webm', 1000, 3.5, 'gte(t,1.5)'), 11_000, 3.5),
    ];
    const result = await exportComposite(dir, inputs, tools);
    console.log(`composite of 2 tracks, ${result.durationSeconds} s: levels in ${result.levelsSeconds.toFixed(2)} s, encoded in ${result.encodeSeconds.toFixed(2)} s; speakers ${result.speakers.map((s) => `${s.participant} ${s.fromSeconds}-${s.toSeconds}`).join(', ')}`);
    assert.equal(result.file, 'composite.webm');
    assert.equal(result.layout, 'speaker');
    assert.equal(result.startMs, 10_015);
    assert.deepEqual(result.tracks.map((t) => [t.participant, t.kind, t.offsetSeconds]), [['alice', 'video', 0], ['alice', 'audio', 0], ['bob', 'video', 1], ['bob', 'audio', 1]]);
    assert.deepEqual(result.speakers.map((s) => s.participant), ['alice', 'bob']);
    const change = result.speakers[1]!.fromSeconds;
    assert.ok(change >= 2.3 && change <= 2.6, `bob's tone starts at 2.5 s; the layout changes at ${change} s`);
    assert.deepEqual(result.layouts.map((l) => [l.speaker, l.tiles.map((t) => `${t.participant}@${t.x},${t.y} ${t.width}x${t.height}`)]), [
      ['alice', ['alice@0,0 960x720', 'bob@960,270 320x180']],
      ['bob', ['alice@960,270 320x180', 'bob@0,0 960x720']],
    ]);
    const probed = await probe(join(dir, result.file));
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - 4.5) < 0.1, `${probed.durationSeconds} s`);
    assert.equal(await decodeErrors(join(dir, result.file)), '');
    // The big tile is the left 960x720, the strip's one tile 320x180 at (960, 270).
    assert.ok(near(await pixel(result.file, 0.5, 480, 360), red), 'alice big at 0.5 s');
    assert.ok(near(await pixel(result.file, 0.5, 1120, 360), [0, 0, 0]), 'bob not yet at 0.5 s: black strip');
    assert.ok(near(await pixel(result.file, 1.8, 1120, 360), blue), 'bob in the strip at 1.8 s');
    assert.ok(near(await pixel(result.file, 1.8, 480, 360), red), 'alice still big at 1.8 s');
    assert.ok(near(await pixel(result.file, 3.5, 480, 360), blue), 'bob big at 3.5 s');
    assert.ok(near(await pixel(result.file, 3.5, 1120, 360), red), 'alice in the strip at 3.5 s');
    assert.ok(near(await pixel(result.file, 3.5, 1120, 100), [0, 0, 0]), 'above the strip: black');
    // Around 1 kHz before bob starts there is only alice's 500 Hz leaking through the band-pass.
    const before = await bandRms(result.file, 1000, 0.2, 2.3);
    const during = await bandRms(result.file, 1000, 2.7, 4.3);
    const alice = await bandRms(result.file, 500, 0.2, 1.8);
    console.log(`1 kHz band: ${before.toFixed(1)} dB before bob, ${during.toFixed(1)} dB after; 500 Hz band ${alice.toFixed(1)} dB`);
    assert.ok(during > before + 20, "bob's 1 kHz only from when he speaks");
    assert.ok(alice > -30, "alice's 500 Hz (lavfi's sine is at 1/8 of full scale: -21 dB RMS)");
  });

  test('audioLevels: a tone at 1/8 of full scale reads -21 dBov per 100 ms window, silence far below -50; windows from the file start', async () => {
    const levels = await audioLevels('ffmpeg', join(dir, await audio('levels.webm', 440, 2, 'gte(t,1)')), 0.1);
    assert.ok(levels.length >= 19 && levels.length <= 20, `${levels.length} windows in 2 s`);
    const quiet = [...levels.slice(0, 9)];
    const loud = [...levels.slice(11, 19)];
    console.log(`levels: silent part max ${Math.max(...quiet).toFixed(1)} dB, tone ${Math.min(...loud).toFixed(1)} to ${Math.max(...loud).toFixed(1)} dB`);
    assert.ok(Math.max(...quiet) < -50, 'silence');
    assert.ok(loud.every((level) => Math.abs(level + 21.1) < 1.5), 'the tone at -21 dB');
  });

  test('nothing to compose, or no ffmpeg: a clear error', async () => {
    await assert.rejects(exportComposite(dir, [input('a', 'video', 'x.webm', 0, 0)], tools), (error: unknown) => error instanceof CompositeError && /no track has a file/.test(error.message));
    await assert.rejects(exportComposite(dir, [input('a', 'video', 'a-video.webm', 0, 3)], { ...tools, ffmpegPath: '/nonexistent/ffmpeg' }), /install Debian's ffmpeg package/);
  });
});
