/**
 * `npm run bench:signaling`: joins through HAProxy onto 1 and 2 Parley nodes (Redis between them)
 * and onto a bare `ws` server, in one run: join latency, joins per second, and memory per
 * participant against the bare server's. See bench/README.md.
 *
 *   npm run bench:signaling -- --participants 2000 --room-sizes 2,50
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken } from '@parley/server';
import type WebSocket from 'ws';
import { TestRedis } from '../../packages/server/test/cluster/redis-harness.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { joinOnce, pooled } from './clients.ts';
import { percentile } from '../join/figures.ts';
import { parseSignalingOptions, USAGE } from './options.ts';
import { API_KEY, API_SECRET, groupRssByRole, startBareWs, startParley, type Target } from './targets.ts';

const options = optionsOrExit(parseSignalingOptions, USAGE);
console.log(`signaling benchmark: ${options.participants} participants per case, rooms of ${options.roomSizes.join(' and ')}, Parley on ${options.nodeCounts.join(' and ')} node(s), ${options.concurrency} joins in flight`);

interface CaseResult {
  target: string;
  roomSize: number;
  p50: number;
  p99: number;
  joinsPerSecond: number;
  bytesPerParticipant: number;
  /** Of which in SFU worker processes. */
  workerBytesPerParticipant: number;
  failures: number;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runCase(target: Target, roomSize: number, runId: string): Promise<CaseResult> {
  const tokens = await Promise.all(
    Array.from({ length: options.participants }, (_, i) =>
      createToken({ apiKey: API_KEY, apiSecret: API_SECRET, room: `${runId}-r${Math.floor(i / roomSize)}`, identity: `p${i}`, ttlSeconds: 3600 }),
    ),
  );
  await settle(1000);
  const before = groupRssByRole(target.groups);
  const open: WebSocket[] = [];
  try {
    const started = performance.now();
    const results = await pooled(tokens.map((token) => () => joinOnce(target.wsUrl, token, open)), options.concurrency);
    const elapsed = (performance.now() - started) / 1000;
    // Let the servers finish what the joins started (broadcasts, SFU joins) before reading memory.
    await settle(2000);
    const after = groupRssByRole(target.groups);
    const grown = (role: 'servers' | 'sfu workers') => (after.get(role)! - before.get(role)!) / options.participants;
    const failed = results.filter((result) => result.error !== undefined);
    if (failed.length > 0) console.log(`  ${failed.length} joins failed, e.g. ${failed[0]!.error}`);
    const latencies = results.filter((result) => result.error === undefined).map((result) => result.ms);
    return {
      target: target.name,
      roomSize,
      p50: percentile(latencies, 50) ?? NaN,
      p99: percentile(latencies, 99) ?? NaN,
      joinsPerSecond: latencies.length / elapsed,
      bytesPerParticipant: grown('servers') + grown('sfu workers'),
      workerBytesPerParticipant: grown('sfu workers'),
      failures: failed.length,
    };
  } finally {
    for (const socket of open) socket.terminate();
  }
}

cleanUpOnSignals();
const dir = mkdtempSync(join(tmpdir(), 'parley-bench-signaling-'));
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const results: CaseResult[] = [];
try {
  const redis = await TestRedis.start();
  onCleanup(() => redis.kill());
  const runId = `b${Date.now().toString(36)}`;
  for (const roomSize of options.roomSizes) {
    const targets: Array<() => Promise<Target>> = [() => startBareWs(dir), ...options.nodeCounts.map((count) => () => startParley(dir, count, redis.url, `${runId}-${roomSize}-${count}`))];
    for (const start of targets) {
      const target = await start();
      const remove = onCleanup(() => target.stop());
      try {
        const result = await runCase(target, roomSize, `${runId}-${roomSize}-${target.name.replace(/\W+/g, '')}`);
        results.push(result);
        if (result.failures > 0) process.exitCode = 1;
        console.log(`  ${result.target}, rooms of ${roomSize}: join p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.joinsPerSecond.toFixed(0)} joins/s, ${(result.bytesPerParticipant / 1024).toFixed(1)} KiB per participant (${(result.workerBytesPerParticipant / 1024).toFixed(1)} in SFU workers)`);
      } finally {
        remove();
        await target.stop();
      }
    }
  }
} finally {
  await runCleanups();
}

console.log('\n| target | rooms of | join p50 (ms) | join p99 (ms) | joins/s | KiB per participant | of which SFU workers | failed |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.target} | ${r.roomSize} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.joinsPerSecond.toFixed(0)} | ${(r.bytesPerParticipant / 1024).toFixed(1)} | ${(r.workerBytesPerParticipant / 1024).toFixed(1)} | ${r.failures} |`);
for (const roomSize of options.roomSizes) {
  const bare = results.find((r) => r.roomSize === roomSize && r.target === 'bare ws');
  const one = results.find((r) => r.roomSize === roomSize && r.target === 'parley x1');
  const two = results.find((r) => r.roomSize === roomSize && r.target === 'parley x2');
  if (bare && one) console.log(`rooms of ${roomSize}: parley (1 node) / bare ws memory per participant: ${(one.bytesPerParticipant / bare.bytesPerParticipant).toFixed(2)}`);
  if (one && two) console.log(`rooms of ${roomSize}: joins/s 2 nodes / 1 node: ${(two.joinsPerSecond / one.joinsPerSecond).toFixed(2)}`);
}
