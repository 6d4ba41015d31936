import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ParleyError } from '../../src/errors.ts';
import { RecordingsApi } from '../../src/recording/recordings-api.ts';

// A local HTTP server standing in for the recordings API's answers, so the SDK's handling of
// each answer (and of URLs it must not send the token to) is seen on the wire.
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
let answer: { status: number; body: string; type?: string } = { status: 200, body: '[]' };
const server = createServer((request, response) => {
  seen.push({ url: request.url ?? '', headers: request.headers });
  response.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' }).end(answer.body);
});
let base = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const api = () => new RecordingsApi(() => ({ baseUrl: base, token: 'TOKEN', room: 'demo' }));
const code = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: unknown) => (error instanceof ParleyError ? `${error.code}: ${error.message}` : String(error)));

test('recordings API: list sends the bearer token; a refusal keeps the API code; a malformed list is INVALID_RESPONSE', async () => {
  const listing = [{ id: 'rec_1', mode: 'tracks', status: 'ready', startedBy: 'alice', startedAt: '2026-12-05T21:00:00.000Z', files: [{ name: 'manifest.json', url: '/api/rooms/demo/recordings/rec_1/files/manifest.json', bytes: 10, durationSeconds: null }] }];
  answer = { status: 200, body: JSON.stringify(listing) };
  assert.deepEqual(await api().list(), listing);
  assert.equal(seen.at(-1)?.url, '/api/rooms/demo/recordings');
  assert.equal(seen.at(-1)?.headers.authorization, 'Bearer TOKEN');
  answer = { status: 403, body: JSON.stringify({ error: { code: 'PERMISSION_DENIED', message: 'recording needs a token with the canRecord grant' } }) };
  assert.match(await code(api().list()), /^PERMISSION_DENIED: recording refused \(403\): recording needs/);
  answer = { status: 200, body: JSON.stringify([{ id: 'rec_1' }]) };
  assert.match(await code(api().list()), /^INVALID_RESPONSE: /);
  answer = { status: 200, body: '<html>', type: 'text/html' };
  assert.match(await code(api().list()), /^INVALID_RESPONSE: .*other than JSON/);
});

test('recordings API: a file downloads as a Blob with the token; anything but this room\'s recording files on this server is refused before any request', async () => {
  answer = { status: 200, body: 'WEBM', type: 'video/webm' };
  const blob = await api().download({ url: '/api/rooms/demo/recordings/rec_1/files/recording.webm' });
  assert.equal(await blob.text(), 'WEBM');
  assert.equal(seen.at(-1)?.headers.authorization, 'Bearer TOKEN');
  const before = seen.length;
  for (const url of ['https://elsewhere.example/api/rooms/demo/recordings/rec_1/files/x.webm', '/api/rooms/other/recordings/rec_1/files/x.webm', '/api/dev/token', '', 'http://[bad']) {
    assert.match(await code(api().download(url)), /^INVALID_ARGUMENT: /, url);
  }
  assert.match(await code(api().download(undefined as unknown as string)), /^INVALID_ARGUMENT: /);
  assert.equal(seen.length, before, 'no request was made for a refused URL');
  answer = { status: 404, body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'recording rec_1 has no file "x.webm"' } }) };
  assert.match(await code(api().download('/api/rooms/demo/recordings/rec_1/files/x.webm')), /^NOT_FOUND: recording refused \(404\)/);
});
