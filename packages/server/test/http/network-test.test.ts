import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MAX_NETWORK_TEST_BYTES } from '../../src/http/network-test.ts';
import type { RunningServer } from '../../src/index.ts';
import { startTestServer } from '../helpers.ts';

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe('network-test endpoints', () => {
  let server: RunningServer;
  let api: string;
  before(async () => {
    // A production configuration: the endpoints are public, they must not need dev mode.
    server = await startTestServer();
    api = `${server.url}/api/network-test`;
  });
  after(() => server.close());

  test('latency answers 204 with no body, uncacheable, readable cross-origin, with the security headers', async () => {
    const response = await fetch(`${api}/latency`);
    assert.equal(response.status, 204);
    assert.equal(await response.text(), '');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  });

  test('download sends exactly the bytes asked for, incompressible, uncacheable', async () => {
    for (const bytes of [1, 1000, 65_536, 65_537, 3_000_000]) {
      const response = await fetch(`${api}/download?bytes=${bytes}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/octet-stream');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('content-length'), String(bytes));
      const body = new Uint8Array(await response.arrayBuffer());
      assert.equal(body.length, bytes);
      if (bytes >= 1000) assert.ok(new Set(body.subarray(0, 1000)).size > 200, 'random-looking bytes, not a constant fill');
    }
  });

  test('download refuses a missing, malformed, zero, fractional, oversized or extra parameter', async () => {
    for (const query of ['', '?bytes=', '?bytes=abc', '?bytes=0', '?bytes=-5', '?bytes=1.5', `?bytes=${MAX_NETWORK_TEST_BYTES + 1}`, '?bytes=10&x=1', '?bytes=1e400']) {
      const response = await fetch(`${api}/download${query}`);
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'INVALID_MESSAGE', query);
      assert.match(body.error.message, /bytes=1\.\./, query);
    }
  });

  test('upload counts the bytes it received, whatever the content type, and keeps nothing', async () => {
    for (const bytes of [0, 1, 100_000, 2_500_000]) {
      const response = await fetch(`${api}/upload`, { method: 'POST', body: new Uint8Array(bytes) });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await response.json(), { bytes });
    }
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${api}/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(10_000));
      req.end();
    });
    assert.deepEqual(chunked, { status: 200, body: JSON.stringify({ bytes: 100_000 }) });
  });

  test('an upload declared larger than the cap is refused before its body is read', async () => {
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${api}/upload`, { method: 'POST', headers: { 'content-length': String(MAX_NETWORK_TEST_BYTES + 1) } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1000)); // the rest never comes: the answer must not wait for it
    });
    assert.equal(result.status, 413);
    assert.equal((JSON.parse(result.body) as { error: { code: string } }).error.code, 'MESSAGE_TOO_LARGE');
  });

  test('a chunked upload that grows past the cap is cut off with 413, and the server carries on', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${api}/upload`, { method: 'POST' }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (error) => resolve(`error ${error.message}`));
      const chunk = Buffer.alloc(1024 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent <= MAX_NETWORK_TEST_BYTES + chunk.length) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    // The client sees the 413, or (if it was still writing when the connection closed) a reset.
    assert.match(outcome, /^(status 413|error .*(ECONNRESET|EPIPE|socket hang up))/);
    assert.equal((await fetch(`${api}/latency`)).status, 204);
  });

  test('unknown routes and wrong methods get 404 with the list of routes', async () => {
    for (const [path, method] of [['/latency', 'POST'], ['/download', 'POST'], ['/upload', 'GET'], ['/other', 'GET'], ['', 'GET']] as const) {
      const response = await fetch(`${api}${path}`, { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'NOT_FOUND');
      assert.match(body.error.message, /GET \/api\/network-test\/latency/);
    }
  });
});

describe('network-test limits', () => {
  test('requests per IP are rate limited (RATE_LIMITED, 429) and other routes stay available', async () => {
    const server = await startTestServer({ limits: { networkTestsPerIpPerMinute: 1 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 45; i++) statuses.push((await fetch(`${server.url}/api/network-test/latency`)).status);
      assert.equal(statuses.filter((s) => s === 204).length, 40, 'the burst is admitted');
      assert.deepEqual(statuses.slice(40), [429, 429, 429, 429, 429]);
      assert.equal(await errorCode(await fetch(`${server.url}/api/network-test/latency`)), 'RATE_LIMITED');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('at most two transfers per IP are in flight; the slot frees when a transfer ends', async () => {
    const server = await startTestServer();
    const api = `${server.url}/api/network-test`;
    try {
      // Two downloads whose bodies are not read stay in flight (the socket buffers fill, the server waits).
      const held = [0, 1].map(() => new AbortController());
      const open = await Promise.all(held.map((c) => fetch(`${api}/download?bytes=${MAX_NETWORK_TEST_BYTES}`, { signal: c.signal })));
      assert.deepEqual(open.map((r) => r.status), [200, 200]);
      const third = await fetch(`${api}/latency`);
      assert.equal(third.status, 429);
      assert.match(((await third.json()) as { error: { message: string } }).error.message, /too many network tests running/);
      held[0]!.abort();
      await open[0]!.body?.cancel().catch(() => {});
      await waitUntil(async () => (await fetch(`${api}/latency`)).status === 204, 'a slot to free after the aborted download');
      held[1]!.abort();
    } finally {
      await server.close();
    }
  });
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
