import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpBase } from '../../src/recording/room-recordings.ts';

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
