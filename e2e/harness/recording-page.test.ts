/** The recording tests' counter check (pure): what counts as a missing, repeated or replayed second. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterProblem } from './recording-page.ts';

test('counterProblem: one step at a time; a stale first picture is not a lost second, a gap after it is', () => {
  assert.equal(counterProblem([0, 0, 0, 0, 1, 1, 1, 1, 2], 4), undefined);
  assert.equal(counterProblem([0, 2, 2, 2, 2, 3, 3, 3, 3, 4], 4), undefined, 'MediaRecorder opened the file with a frame from before start()');
  assert.equal(counterProblem([2, 2, 2, 2, 3, 3, 3, 3, 5], 4), 'second 3 then 5 (sample 8): 1 missing');
  assert.equal(counterProblem([0, 2, 2, 4], 4), 'second 2 then 4 (sample 3): 1 missing', 'only the first sample may be behind');
  assert.equal(counterProblem([3, 2, 2], 4), 'second 2 after 3 (sample 1): played again');
  assert.equal(counterProblem([1, 1, 1, 1, 1, 1, 2], 4), 'second 1 lasts 6 samples at 4 fps: repeated');
  assert.equal(counterProblem([], 4), 'no frames');
});
