import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_SAMPLES } from '../../src/mcu/mix-minus.ts';
import { MAX_SAMPLES, PRIME_SAMPLES, VoiceBuffer } from '../../src/mcu/voice-buffer.ts';

const frame = (value: number, length = FRAME_SAMPLES) => new Float32Array(length).fill(value);

test('a voice buffer hands out nothing until primed, then frames in order with their arrival', () => {
  const buffer = new VoiceBuffer();
  buffer.push(frame(1), 10);
  assert.equal(buffer.take(), undefined, 'one frame is not enough to start');
  buffer.push(frame(2), 30);
  const first = buffer.take()!;
  assert.equal(first.samples[0], 1);
  assert.equal(first.arrivalMs, 10);
  assert.equal(buffer.take()!.samples[FRAME_SAMPLES - 1], 2);
});

test('packets of other lengths (10 ms, 60 ms) are cut into 20 ms frames', () => {
  const buffer = new VoiceBuffer();
  buffer.push(frame(1, 480), 1);
  buffer.push(frame(2, 480), 2);
  buffer.push(frame(3, 2880), 3);
  const first = buffer.take()!;
  assert.deepEqual([first.samples[0], first.samples[479], first.samples[480], first.samples[959]], [1, 1, 2, 2]);
  assert.equal(first.arrivalMs, 2);
  assert.equal(buffer.take()!.samples[0], 3);
});

test('running dry counts an underrun and primes again', () => {
  const buffer = new VoiceBuffer();
  buffer.push(frame(1), 1);
  buffer.push(frame(1), 2);
  buffer.take();
  buffer.take();
  assert.equal(buffer.take(), undefined);
  assert.equal(buffer.underruns, 1);
  buffer.push(frame(5), 3);
  assert.equal(buffer.take(), undefined, 'primes again before handing out');
  buffer.push(frame(6), 4);
  assert.equal(buffer.take()!.samples[0], 5);
});

test('a backlog past MAX_SAMPLES drops the oldest audio down to PRIME_SAMPLES', () => {
  const buffer = new VoiceBuffer();
  for (let i = 0; i <= MAX_SAMPLES / FRAME_SAMPLES; i++) buffer.push(frame(i), i);
  assert.equal(buffer.bufferedSamples, PRIME_SAMPLES);
  assert.equal(buffer.droppedSamples, MAX_SAMPLES + FRAME_SAMPLES - PRIME_SAMPLES);
  assert.equal(buffer.take()!.samples[0], MAX_SAMPLES / FRAME_SAMPLES - 1);
});
