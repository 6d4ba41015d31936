/**
 * What bench:signaling joins through: HAProxy as shipped (TLS) in front of one or two Parley
 * nodes (`parley start` processes sharing a Redis) or of the bare `ws` reference server. Each
 * target is its own process group, so its memory (RSS of every process in the group: a Parley
 * node's SFU workers included) is read from /proc and everything is killed together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, startNodeProcess, type NodeProcess } from '../../packages/server/test/cluster/node-process.ts';
import { startHaproxy, type RunningHaproxy } from '../../packages/server/test/haproxy-harness.ts';
import { freeUdpPort } from '../../e2e/harness/environment.ts';

export const API_KEY = 'bench';
export const API_SECRET = 'bench-secret-bench-secret-bench-secret-0123';

export interface Target {
  name: string;
  /** wss:// URL of the proxy's signaling path. */
  wsUrl: string;
  /** Process group ids whose memory is the server's. */
  groups: number[];
  stop(): Promise<void>;
}

/** Resident memory (bytes) of every process in the given process groups. */
export function groupRss(groups: readonly number[]): number {
  return [...groupRssByRole(groups).values()].reduce((sum, bytes) => sum + bytes, 0);
}

/** The same, split by role: SFU worker processes (forked with the worker entry) and the rest. */
export function groupRssByRole(groups: readonly number[]): Map<'sfu workers' | 'servers', number> {
  const totals = new Map<'sfu workers' | 'servers', number>([
    ['servers', 0],
    ['sfu workers', 0],
  ]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces): state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (!groups.includes(Number(fields[2]))) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      const role = /sfu\/worker/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8')) ? 'sfu workers' : 'servers';
      if (rss) totals.set(role, totals.get(role)! + Number(rss[1]) * 1024);
    } catch {
      // The process ended while we read: it holds nothing.
    }
  }
  return totals;
}

function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  return exited;
}

async function behindProxy(dir: string, name: string, backends: readonly [string, string], groups: number[], stopServers: () => Promise<void>): Promise<Target> {
  let proxy: RunningHaproxy;
  try {
    // Every client comes from 127.0.0.1: the proxy's per-address limits would refuse the benchmark too.
    proxy = await startHaproxy(dir, backends, { PARLEY_LB_MAX_WS_PER_IP: '1000000', PARLEY_LB_WS_PER_IP_PER_MINUTE: '10000000' });
  } catch (error) {
    await stopServers();
    throw error;
  }
  return {
    name,
    wsUrl: proxy.wsUrl,
    groups,
    async stop() {
      await proxy.stop();
      await stopServers();
    },
  };
}

/** The bare `ws` server (one process) behind the proxy. */
export async function startBareWs(dir: string): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./bare-ws-server.mjs', import.meta.url)), String(port)], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the bare ws server exited (${code})`)));
  });
  const address = `127.0.0.1:${port}`;
  return behindProxy(dir, 'bare ws', [address, address], [child.pid!], () => killGroup(child));
}

/** `count` Parley nodes (signaling and media) sharing `redisUrl`, behind the proxy. */
export async function startParley(dir: string, count: 1 | 2, redisUrl: string, runId: string): Promise<Target> {
  const nodes: NodeProcess[] = [];
  const stopAll = async () => {
    for (const node of nodes) await node.kill();
  };
  try {
    for (let i = 1; i <= count; i++) {
      nodes.push(
        await startNodeProcess(dir, `${runId}-n${i}`, {
          dev: false,
          apiKeys: { [API_KEY]: API_SECRET },
          behindTlsProxy: true,
          turn: { enabled: false },
          sfu: { udpPort: await freeUdpPort(), workers: 1 },
          rooms: { maxParticipants: 100 },
          // Every client comes from 127.0.0.1 through the proxy: the per-address limits would
          // stop the benchmark, not measure it.
          limits: { connectionsPerIpPerMinute: 10_000_000, connectionBurstPerIp: 1_000_000, maxConnectionsPerIp: 1_000_000 },
          cluster: { redisUrl, roles: ['signaling', 'media'], keyPrefix: `${runId}:` },
        }),
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  return behindProxy(dir, `parley x${count}`, [addresses[0]!, addresses[1] ?? addresses[0]!], nodes.map((node) => node.child.pid!), stopAll);
}
