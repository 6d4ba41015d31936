/**
 * Nodes in a cluster: two Parley servers sharing a real Redis see each other (`/healthz`,
 * `/metrics`), a clean shutdown leaves the registry at once, a Redis that cannot be reached fails
 * the start with the reason, and without Redis a server is a cluster of one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, configFromEnv, resolveConfig, type RunningServer } from '../../src/index.ts';
import { startTestServer } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';
import { TestRedis } from './redis-harness.ts';

async function health(server: RunningServer): Promise<{ cluster: { backend: string; healthy: boolean; nodes: number } }> {
  return (await fetch(`${server.url}/healthz`)).json() as Promise<{ cluster: { backend: string; healthy: boolean; nodes: number } }>;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a cluster of two nodes over Redis', () => {
  let redis: TestRedis;
  const servers: RunningServer[] = [];
  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await redis.kill();
  });

  test('each node sees the other; a node that shuts down leaves the registry at once', async () => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'two:' };
    const a = await startTestServer({ nodeId: 'node-a', cluster });
    servers.push(a);
    const b = await startTestServer({ nodeId: 'node-b', cluster: { ...cluster, roles: ['signaling'] } });
    servers.push(b);
    await until(async () => (await health(a)).cluster.nodes === 2, 'node-a to see two nodes');
    assert.deepEqual((await health(b)).cluster, { backend: 'redis', healthy: true, nodes: 2 });
    const metrics = (await scrape(a.url)).text;
    assert.equal(sample(metrics, 'parley_cluster_nodes'), 2);
    assert.equal(sample(metrics, 'parley_cluster_backend_up{backend="redis"}'), 1);
    await b.close();
    servers.pop();
    const closedAt = Date.now();
    await until(async () => (await health(a)).cluster.nodes === 1, 'node-a to see one node');
    assert.ok(Date.now() - closedAt < 1000, 'sooner than the TTL: the record was removed, not left to expire');
  });

  test('a Redis nobody listens on fails the start with the reason', async () => {
    await assert.rejects(startTestServer({ cluster: { redisUrl: 'redis://127.0.0.1:1' } }), /cluster backend: could not connect to Redis/);
  });
});

test('without Redis a node is a cluster of one, in memory', async () => {
  const server = await startTestServer();
  try {
    assert.deepEqual((await health(server)).cluster, { backend: 'memory', healthy: true, nodes: 1 });
  } finally {
    await server.close();
  }
});

test('cluster settings from the environment, and their errors', () => {
  assert.deepEqual(configFromEnv({ PARLEY_REDIS_URL: 'redis://:pw@redis:6379/0', PARLEY_NODE_ROLES: 'media', PARLEY_ADVERTISE_URL: 'https://node-1.example.com' }), {
    cluster: { redisUrl: 'redis://:pw@redis:6379/0', roles: ['media'], advertiseUrl: 'https://node-1.example.com' },
  });
  for (const [cluster, reason] of [
    [{ redisUrl: 'http://redis:6379' }, /redis:\/\/ or rediss:\/\//],
    [{ roles: ['sfu'] }, /roles/],
    [{ roles: [] }, /roles/],
    [{ heartbeatMs: 1000, nodeTtlMs: 1500 }, /at least twice/],
  ] as const) {
    assert.throws(() => resolveConfig({ cluster: cluster as never }), (error: unknown) => error instanceof ConfigError && reason.test(error.message), JSON.stringify(cluster));
  }
});
