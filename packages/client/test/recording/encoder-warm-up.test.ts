import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsEncoderWarmUp, warmUpEncoder, type WarmableRecorder } from '../../src/recording/encoder-warm-up.ts';

/** A MediaRecorder's state and events, on a clock the test moves. */
class FakeRecorder extends EventTarget implements WarmableRecorder {
  state: RecordingState = 'recording';
  calls: string[] = [];
  pause(): void {
    this.calls.push('pause');
    this.state = 'paused';
  }
  resume(): void {
    this.calls.push('resume');
    this.state = 'recording';
  }
}

/** A clock whose sleeps end when `advance` passes them; `onSleep` runs as each sleep starts. */
function fakeTime() {
  let now = 1000;
  const sleepers: Array<{ until: number; wake: () => void }> = [];
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    async advance(ms: number) {
      now += ms;
      for (const sleeper of sleepers.filter((s) => s.until <= now)) sleeper.wake();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

test('VP9 recordings warm their encoder up; VP8 (Firefox, Chromium\'s fallback) and a bare WebM do not', () => {
  assert.equal(needsEncoderWarmUp('video/webm;codecs=vp9,opus'), true);
  assert.equal(needsEncoderWarmUp('video/webm;codecs=vp9'), true);
  assert.equal(needsEncoderWarmUp('video/webm;codecs=vp8,opus'), false);
  assert.equal(needsEncoderWarmUp('video/webm'), false);
});

test('the recorder is paused after its first frames until its encoder writes, and the file\'s time 0 moves by the time paused', async () => {
  const recorder = new FakeRecorder();
  const time = fakeTime();
  const warming = warmUpEncoder(recorder, 1000, { runMs: 120, timeoutMs: 1500, now: time.now, sleep: time.sleep });
  await time.advance(120);
  assert.deepEqual(recorder.calls, ['pause']);
  await time.advance(700);
  recorder.dispatchEvent(new Event('start'));
  assert.equal(await warming, 1000 + 700);
  assert.deepEqual(recorder.calls, ['pause', 'resume']);
});

test('an encoder that never writes is waited for at most the timeout', async () => {
  const recorder = new FakeRecorder();
  const time = fakeTime();
  const warming = warmUpEncoder(recorder, 1000, { runMs: 120, timeoutMs: 1500, now: time.now, sleep: time.sleep });
  await time.advance(120);
  await time.advance(1500);
  assert.equal(await warming, 1000 + 1500);
  assert.deepEqual(recorder.calls, ['pause', 'resume']);
});

test('an encoder that wrote before the pause is not paused; a recorder stopped while paused is not resumed', async () => {
  const quick = new FakeRecorder();
  let time = fakeTime();
  let warming = warmUpEncoder(quick, 1000, { runMs: 120, timeoutMs: 1500, now: time.now, sleep: time.sleep });
  quick.dispatchEvent(new Event('dataavailable'));
  await time.advance(120);
  assert.equal(await warming, 1000);
  assert.deepEqual(quick.calls, []);

  const stopped = new FakeRecorder();
  time = fakeTime();
  warming = warmUpEncoder(stopped, 1000, { runMs: 120, timeoutMs: 1500, now: time.now, sleep: time.sleep });
  await time.advance(120);
  stopped.state = 'inactive';
  stopped.dispatchEvent(new Event('dataavailable'));
  assert.equal(await warming, 1000);
  assert.deepEqual(stopped.calls, ['pause']);
});
