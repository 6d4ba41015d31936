import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { classifyNetworkQuality, detectNetworkQuality, type NetworkMeasurement, type NetworkQuality } from '../src/network-quality.ts';
import { ParleyError } from '../src/errors.ts';

const m = (downloadMbps: number, uploadMbps: number, latencyMs: number): NetworkMeasurement => ({ downloadMbps, uploadMbps, latencyMs });

describe('classifyNetworkQuality', () => {
  const cases: Array<[NetworkMeasurement, NetworkQuality, string]> = [
    [m(100, 50, 5), 'excellent', 'a fast LAN'],
    [m(5.01, 2.01, 49.9), 'excellent', 'just above every excellent threshold'],
    [m(5, 50, 5), 'good', 'download exactly 5 is not above 5'],
    [m(50, 2, 5), 'good', 'upload exactly 2 is not above 2'],
    [m(50, 50, 50), 'good', 'latency exactly 50 is not below 50'],
    [m(2.01, 1.01, 149), 'good', 'just above every good threshold'],
    [m(2, 10, 10), 'fair', 'download exactly 2'],
    [m(10, 1, 10), 'fair', 'upload exactly 1'],
    [m(10, 10, 150), 'fair', 'latency exactly 150'],
    [m(1.01, 0.51, 299), 'fair', 'just above every fair threshold'],
    [m(1, 10, 10), 'poor', 'download exactly 1'],
    [m(10, 0.5, 10), 'poor', 'upload exactly 0.5'],
    [m(10, 10, 300), 'poor', 'latency exactly 300'],
    [m(0.4, 0.4, 400), 'poor', 'slow 3G'],
    [m(0, 0, 0), 'poor', 'nothing moved'],
    [m(1000, 1000, 400), 'poor', 'fast but far: latency alone makes it poor'],
    [m(0.8, 100, 1), 'poor', 'one weak direction is enough'],
  ];
  for (const [measurement, expected, why] of cases) {
    test(`${JSON.stringify(measurement)} is ${expected} (${why})`, () => {
      assert.equal(classifyNetworkQuality(measurement), expected);
    });
  }

  test('NaN figures (nothing measurable) are poor, never better', () => {
    assert.equal(classifyNetworkQuality(m(Number.NaN, 100, 1)), 'poor');
    assert.equal(classifyNetworkQuality(m(100, 100, Number.NaN)), 'poor');
  });
});

describe('detectNetworkQuality arguments', () => {
  test('refuses a bad duration or URL with INVALID_ARGUMENT before sending anything', async () => {
    for (const durationMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(detectNetworkQuality({ url: 'http://127.0.0.1:9', durationMs }), (error: unknown) => {
        assert.ok(error instanceof ParleyError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, /durationMs/);
        return true;
      });
    }
    await assert.rejects(detectNetworkQuality({ url: 'not a url' }), { code: 'INVALID_ARGUMENT', message: /url must be/ });
  });

  test('an already aborted signal rejects with its reason', async () => {
    const reason = new Error('user went away');
    await assert.rejects(detectNetworkQuality({ url: 'http://127.0.0.1:9', signal: AbortSignal.abort(reason) }), reason);
  });
});

describe('detectNetworkQuality against a server that stalls once', () => {
  // The routes of /api/network-test, where the first download and the first upload are answered
  // 400 ms late (what a busy browser or server does now and then), every other request at once.
  async function stallingServer(): Promise<{ url: string; close: () => Promise<void>; stalled: string[] }> {
    const stalled: string[] = [];
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const route = url.pathname.slice('/api/network-test/'.length);
      const stall = (route === 'download' || route === 'upload') && !stalled.includes(route);
      if (stall) stalled.push(route);
      let received = 0;
      request.on('data', (chunk: Buffer) => (received += chunk.length));
      request.on('end', () =>
        setTimeout(() => {
          if (route === 'latency') response.writeHead(204).end();
          else if (route === 'download') response.writeHead(200).end(Buffer.alloc(Number(url.searchParams.get('bytes'))));
          else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: received }));
        }, stall ? 400 : 0),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      stalled,
    };
  }

  test('one stalled transfer each way does not make a fast link look slow', async () => {
    const server = await stallingServer();
    try {
      const result = await detectNetworkQuality({ url: server.url });
      assert.deepEqual(server.stalled.sort(), ['download', 'upload'], 'both directions stalled once');
      // Before: the stalled 32 KiB upload was "measurable" (≥ 300 ms) and the result ~0.8 Mbit/s.
      assert.ok(result.uploadMbps > 50 && result.downloadMbps > 50, JSON.stringify(result));
      assert.equal(result.quality, 'excellent', JSON.stringify(result));
    } finally {
      await server.close();
    }
  });
});
