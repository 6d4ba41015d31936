import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseMimeType, RECORDING_MIME_TYPES } from '../../src/recording/mime-type.ts';
import { RecorderSource } from '../../src/recording/recorder-source.ts';
import { httpBase } from '../../src/recording/room-recordings.ts';

// What MediaRecorder.isTypeSupported answered in each browser here (docs/recording.md).
const chromium = new Set(['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm']);
const firefoxOffline = new Set(['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm']);

test('mime type: VP9 + Opus where supported, VP8 + Opus in Firefox, a preferred type first, none when nothing is', () => {
  assert.equal(RECORDING_MIME_TYPES[0], 'video/webm;codecs=vp9,opus');
  assert.equal(chooseMimeType((type) => chromium.has(type)), 'video/webm;codecs=vp9,opus');
  assert.equal(chooseMimeType((type) => firefoxOffline.has(type)), 'video/webm;codecs=vp8,opus');
  assert.equal(chooseMimeType((type) => firefoxOffline.has(type), 'video/webm;codecs=vp9,opus'), 'video/webm;codecs=vp8,opus');
  assert.equal(chooseMimeType((type) => chromium.has(type), 'video/webm;codecs=vp8'), 'video/webm;codecs=vp8');
  assert.equal(chooseMimeType((type) => type === 'video/webm'), 'video/webm');
  assert.equal(chooseMimeType(() => false), undefined);
  assert.equal(chooseMimeType(() => {
    throw new Error('isTypeSupported threw');
  }), undefined);
});

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

test('httpBase: the HTTP origin of any server URL form', () => {
  assert.equal(httpBase('wss://example.org/ws'), 'https://example.org');
  assert.equal(httpBase('ws://127.0.0.1:8080/ws'), 'http://127.0.0.1:8080');
  assert.equal(httpBase('https://example.org/'), 'https://example.org');
  assert.equal(httpBase('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
});

test("server recordings: startRecording({ mode: 'composite' }) POSTs that mode with the participant's token and answers { id, mode }; stop POSTs .../stop; an unknown mode is INVALID_ARGUMENT", async () => {
  const { RoomRecordings } = await import('../../src/recording/room-recordings.ts');
  const requests: Array<{ url: string; method: string; body: string | undefined; auth: string | null }> = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    requests.push({ url, method: init.method ?? 'GET', body: init.body as string | undefined, auth: new Headers(init.headers).get('authorization') });
    const body = url.endsWith('/stop') ? { id: 'rec_1', mode: 'composite', status: 'processing' } : { id: 'rec_1', mode: 'composite', status: 'recording' };
    return new Response(JSON.stringify(body), { status: url.endsWith('/stop') ? 200 : 201 });
  }) as typeof fetch;
  try {
    const recordings = new RoomRecordings({
      endpoint: () => ({ baseUrl: 'http://parley.test', token: 'T', room: 'demo', identity: 'ann' }),
      localTracks: () => [],
      localName: () => 'Ann',
      callTracks: () => ({ video: [], audio: [] }),
      acknowledged: () => undefined,
      failed: () => undefined,
    });
    assert.deepEqual(await recordings.start({ mode: 'composite' }), { id: 'rec_1', mode: 'composite' });
    await recordings.stop('rec_1');
    assert.deepEqual(requests, [
      { url: 'http://parley.test/api/rooms/demo/recordings', method: 'POST', body: '{"mode":"composite"}', auth: 'Bearer T' },
      { url: 'http://parley.test/api/rooms/demo/recordings/rec_1/stop', method: 'POST', body: undefined, auth: 'Bearer T' },
    ]);
    await assert.rejects(recordings.start({ mode: 'mixed' } as never), (error: unknown) => (error as { code?: string }).code === 'INVALID_ARGUMENT' && /'browser', 'tracks' or 'composite'/.test((error as Error).message));
  } finally {
    globalThis.fetch = realFetch;
  }
});
