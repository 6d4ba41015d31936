/**
 * The video thread's close (`video-thread.ts`): the mixer process outlives a connection (a worker
 * that connects again gets a new thread), so closing a thread must end its ffmpegs, the spare
 * decoder among them; a thread merely terminated left them running, or as zombies once killed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { VideoMixerThread } from '../../../src/mcu/video/video-thread.ts';

/** This process's ffmpeg children, with their state (Z: a zombie). */
const ffmpegChildren = () =>
  execFileSync('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)])
    .toString()
    .split('\n')
    .filter((line) => line.includes('ffmpeg'));

test('closing the thread ends its decoders and its spare, leaving no zombie', async () => {
  const errors: string[] = [];
  const thread = new VideoMixerThread({
    settings: { ffmpegPath: 'ffmpeg', tiers: [{ width: 640, height: 360, fps: 15, bitrateKbps: 600 }], keyframeSeconds: 4, maxGrids: 8 },
    send: () => {},
    requestKeyframe: () => {},
    onError: (message) => errors.push(message),
  });
  thread.addInput(1, { trackId: 'cam', participant: 'ann', source: 'camera', kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90_000, rids: [] });
  // The spare started with the mixer went to the camera; the next one is started a second later.
  const start = Date.now();
  while (Date.now() - start < 10_000 && ffmpegChildren().length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(ffmpegChildren().length, 2, "the camera's decoder and the next spare");
  thread.close();
  while (Date.now() - start < 10_000 && ffmpegChildren().length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(ffmpegChildren(), [], 'none left, not even a zombie');
  assert.deepEqual(errors, []);
});
