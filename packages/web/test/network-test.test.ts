import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeNetworkResult, formatMbps } from '../src/network-test.ts';

test('formatMbps: readable figures at every scale', () => {
  const cases: Array<[number, string]> = [
    [0, '0 Mbps'],
    [Number.NaN, '0 Mbps'],
    [0.05, '50 kbps'],
    [0.42, '0.42 Mbps'],
    [0.777, '0.78 Mbps'],
    [3.14159, '3.1 Mbps'],
    [9.96, '10 Mbps'],
    [94.4, '94 Mbps'],
    [2412.7, '2413 Mbps'],
  ];
  for (const [mbps, text] of cases) assert.equal(formatMbps(mbps), text, String(mbps));
});

test('describeNetworkResult: the quality in words, the three figures, and what to expect', () => {
  assert.equal(
    describeNetworkResult({ quality: 'excellent', downloadMbps: 94.4, uploadMbps: 48, latencyMs: 12.4 }),
    'Excellent network: 94 Mbps down, 48 Mbps up, 12 ms latency. Video calls will work well.',
  );
  const poor = describeNetworkResult({ quality: 'poor', downloadMbps: 0.38, uploadMbps: 0.35, latencyMs: 412 });
  assert.match(poor, /^Poor network: 0\.38 Mbps down, 0\.35 Mbps up, 412 ms latency\. /);
  assert.match(poor, /camera off/);
  assert.match(describeNetworkResult({ quality: 'good', downloadMbps: 3, uploadMbps: 1.5, latencyMs: 80 }), /^Good network: .* should work well\.$/);
  assert.match(describeNetworkResult({ quality: 'fair', downloadMbps: 1.5, uploadMbps: 0.7, latencyMs: 200 }), /^Fair network: .*less sharp video/);
});
