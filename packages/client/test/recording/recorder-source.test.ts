import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecorderSource } from '../../src/recording/recorder-source.ts';

const text = async (blob: Blob | null) => (blob ? await blob.text() : null);

test('recorder source: each slice answers what was recorded since, waits for more, ends with done', async () => {
  const source = new RecorderSource();
  source.push(new Blob(['abc']));
  source.push(new Blob(['def']));
  const first = await source.slice(0, 100);
  assert.equal(await text(first.value), 'abcdef');
  assert.equal(first.done, false);
  assert.equal(await text((await source.slice(0, 4)).value), 'abcd', 'a slice stops at its end');
  let answered = false;
  const waiting = source.slice(6, 100).then((result) => ((answered = true), result));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, false, 'nothing past 6 yet: the slice waits');
  source.push(new Blob(['gh']));
  assert.equal(await text((await waiting).value), 'gh');
  source.push(new Blob(['ij']));
  source.end();
  const last = await source.slice(8, 100);
  assert.equal(await text(last.value), 'ij');
  assert.equal(last.done, true, 'the last bytes of an ended recording say done (tus declares the length with them)');
  assert.deepEqual(await source.slice(10, 100), { value: null, done: true });
});

test('recorder source: resends from the acknowledged offset, even inside a chunk; never before it', async () => {
  const source = new RecorderSource();
  source.push(new Blob(['0123456789']));
  assert.equal(await text((await source.slice(0, 100)).value), '0123456789');
  // The server acknowledged 4 bytes only (the rest was lost with a restart): resend from 4.
  assert.equal(await text((await source.slice(4, 100)).value), '456789');
  // A server that kept more than it acknowledged answers a larger offset: continue from there.
  assert.equal(await text((await source.slice(7, 100)).value), '789');
  await assert.rejects(source.slice(5, 100), /dropped/);
  assert.equal(source.recordedBytes, 10);
});
