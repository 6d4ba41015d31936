/**
 * `av-sync.ts` on known input: the pure onset and pairing functions on hand-made numbers, and the
 * ffmpeg readers on files ffmpeg's lavfi sources generate with a known audio offset (a white box
 * flashing for 100 ms every second, a 1 kHz beep starting `offset` ms after each flash), encoded
 * as a WebRTC publisher would (VP8 + Opus in WebM). No browser.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { audioEnvelope, beepTimes, flashTimes, onsets, pairOnsets } from './av-sync.ts';

const exec = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'parley-avsync-'));
after(() => rm(dir, { recursive: true, force: true }));

/**
 * `seconds` of flashes at 0, 1, 2, ... s (VP8 WebM) and beeps `offsetMs` later (negative: earlier;
 * Opus WebM), each in its own file as the server's per-track export writes them. The tone's
 * volume is switched per 1 ms frame of the sine source (its default 1024-sample frames would move
 * each beep's start by up to 21 ms).
 */
async function flashBeepFiles(name: string, seconds: number, offsetMs: number): Promise<{ video: string; audio: string }> {
  const video = join(dir, `${name}-video.webm`);
  const audio = join(dir, `${name}-audio.webm`);
  await exec('ffmpeg', [
    '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=black:s=160x120:r=30:d=${seconds},drawbox=c=white:t=fill:enable='lt(mod(t,1),0.1)'`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30', '-f', 'webm', video,
  ]);
  await exec('ffmpeg', [
    '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `sine=f=1000:r=48000:samples_per_frame=48:d=${seconds},volume=volume='lt(mod(t-(${offsetMs / 1000})+10,1),0.1)':eval=frame`,
    '-c:a', 'libopus', '-frame_duration', '20', '-f', 'webm', audio,
  ]);
  return { video, audio };
}

describe('av-sync (flash and beep analysis)', () => {
  test('onsets: the rising edges of a signal, gaps shorter than minGap merged, a flat signal has none', () => {
    const samples = [0, 0, 10, 10, 0, 10, 0, 0, 0, 10].map((value, i) => ({ at: i * 0.1, value }));
    assert.deepEqual(onsets(samples, { minGapSeconds: 0.25, minContrast: 5 }), [0.2, 0.9]);
    assert.deepEqual(onsets(samples, { minGapSeconds: 0.15, minContrast: 5 }).length, 3);
    assert.deepEqual(onsets(samples.map((s) => ({ ...s, value: 7 })), { minGapSeconds: 0.1, minContrast: 5 }), []);
  });

  test('pairOnsets: nearest beep within the window, signed offsets, unpaired ones reported, max and median', () => {
    const report = pairOnsets([1, 2, 3, 4], [1.02, 1.98, 3.05, 5.5], 100);
    assert.deepEqual(report.pairs.map((p) => Math.round(p.offsetMs)), [20, -20, 50]);
    assert.deepEqual(report.unpairedFlashes, [4]);
    assert.deepEqual(report.unpairedBeeps, [5.5]);
    assert.equal(Math.round(report.maxAbsOffsetMs), 50);
    assert.equal(Math.round(report.medianOffsetMs), 20);
  });

  test('audioEnvelope: RMS per window, timed from the start given', () => {
    const pcm = Buffer.alloc(8 * 2);
    for (let i = 4; i < 8; i++) pcm.writeInt16LE(i % 2 ? 1000 : -1000, i * 2);
    assert.deepEqual(audioEnvelope(pcm, 8, 4, 10), [{ at: 10, value: 0 }, { at: 10.5, value: 1000 }]);
  });

  for (const offsetMs of [0, 40, -50]) {
    test(`a VP8 WebM and an Opus WebM with the beeps ${offsetMs} ms after the flashes: measured ${offsetMs} ms (within 5 ms) for each flash`, async () => {
      const files = await flashBeepFiles(`offset${offsetMs}`, 6, offsetMs);
      const flashes = await flashTimes(files.video);
      const beeps = await beepTimes(files.audio);
      const report = pairOnsets(flashes, beeps, 500);
      console.log(`offset ${offsetMs} ms: flashes ${flashes.map((t) => t.toFixed(3)).join(' ')}; beeps ${beeps.map((t) => t.toFixed(4)).join(' ')}; median ${report.medianOffsetMs.toFixed(1)} ms`);
      // The flash (and beep) already on at the file's first sample has no known onset: left out.
      assert.deepEqual(flashes.map((t) => Math.round(t * 1000)), [1000, 2000, 3000, 4000, 5000], 'a flash at every second, on its first white frame');
      assert.equal(report.pairs.length, 5);
      for (const pair of report.pairs) assert.ok(Math.abs(pair.offsetMs - offsetMs) <= 5, `flash ${pair.flash}: ${pair.offsetMs.toFixed(1)} ms, expected ${offsetMs}`);
    });
  }

  test('a region and a tone: one flashing tile and one beeping tone picked out of a picture and a mix holding others', async () => {
    const file = join(dir, 'mix.webm');
    // Left half flashes at 0, 1, 2 s (the first one, on from the start, has no onset); the right half is white throughout; 1 kHz beeps 30 ms after
    // each flash mixed with a constant 300 Hz tone as loud. One WebM with both: ffmpeg's muxer
    // starts the video 7 ms late there (it shifts every stream by Opus's 6.5 ms codec delay, and
    // the audio decodes from 0), so 23 ms is what the file holds.
    await exec('ffmpeg', [
      '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `color=c=black:s=320x120:r=30:d=3,drawbox=x=160:w=160:h=120:c=white:t=fill,drawbox=w=160:h=120:c=white:t=fill:enable='lt(mod(t,1),0.1)'`,
      '-f', 'lavfi', '-i', `sine=f=1000:r=48000:samples_per_frame=48:d=3,volume=volume='lt(mod(t-0.03+10,1),0.1)':eval=frame[b];sine=f=300:r=48000:d=3[c];[b][c]amix=inputs=2:normalize=0`,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', '-f', 'webm', file,
    ]);
    assert.deepEqual(await flashTimes(file, { x: 320 - 160, y: 0, width: 160, height: 120 }), [], 'the steady half has no flash');
    const flashes = await flashTimes(file, { x: 0, y: 0, width: 160, height: 120 });
    assert.deepEqual(flashes.map((t) => Math.round(t * 1000)), [1007, 2007]);
    const report = pairOnsets(flashes, await beepTimes(file, 1000), 500);
    assert.equal(report.pairs.length, 2);
    console.log(`through the 1 kHz band-pass: ${report.pairs.map((p) => p.offsetMs.toFixed(1)).join(', ')} ms`);
    for (const pair of report.pairs) assert.ok(Math.abs(pair.offsetMs - 23) <= 3, `${pair.offsetMs.toFixed(1)} ms, expected 30 - 7 through the band-pass`);
  });
});
