/**
 * coturn's own test clients against Parley's built-in TURN server (started through startServer
 * with the `turn` configuration): turnutils_stunclient, and turnutils_uclient relaying to
 * turnutils_peer over UDP and TCP, with channels and with Send indications, using REST-secret
 * credentials. Loopback peers are allowed explicitly (`turn.allowedPeers`), which is also the
 * proof that the allow list works; without it the same run is refused with 403.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '../../src/index.ts';
import { sample, scrape } from '../metrics-text.ts';

const SECRET = 'coturn-interop-secret-0123456789';

function requireTool(name: string): void {
  if (spawnSync('which', [name]).status !== 0) throw new Error(`${name} is missing: apt-get install -y coturn (.ci/run installs it)`);
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Runs a coturn tool to completion (bounded), returning its exit code and combined output. */
function run(command: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Each run is its own user: a run makes up to 8 allocations and the default per-user quota is 10. */
function uclientArgs(server: RunningServer, peerPort: number, extra: string[], secret = SECRET): string[] {
  const port = String(server.turn!.server.addresses.udp);
  return [...extra, '-W', secret, '-u', `coturn-client${extra.join('')}`, '-e', '127.0.0.1', '-r', String(peerPort), '-p', port, '-n', '30', '-m', '2', '-l', '170', '-z', '5', '127.0.0.1'];
}

/** The counts uclient prints at the end; lost packets must be 0 and everything sent came back. */
function assertCleanRun(result: { code: number | null; output: string }, what: string): void {
  assert.equal(result.code, 0, `${what}: exit code\n${result.output.slice(-1500)}`);
  assert.match(result.output, /Total lost packets 0 \(0\.000000%\)/, what);
  const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(result.output.split('\n').filter((l) => l.includes('tot_send_msgs=')).pop() ?? '');
  assert.ok(totals && Number(totals[1]) >= 60 && totals[1] === totals[2], `${what}: sent and received counts ${totals?.[0]}`);
}

describe('coturn clients against the built-in TURN server', () => {
  let server: RunningServer;
  let peer: ChildProcess;
  let peerPort: number;

  before(async () => {
    for (const tool of ['turnutils_stunclient', 'turnutils_uclient', 'turnutils_peer']) requireTool(tool);
    server = await startServer(
      { port: 0, ice: { turnSecret: SECRET }, turn: { port: 0, relayPortMin: 45000, relayPortMax: 45999, allowedPeers: ['127.0.0.1/32'] } },
      { logger: silentLogger },
    );
    peerPort = await freeUdpPort();
    peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  });
  after(async () => {
    if (peer?.pid !== undefined && peer.exitCode === null) process.kill(peer.pid, 'SIGTERM');
    await server?.close();
  });

  test('turnutils_stunclient gets its reflexive address', async () => {
    const result = await run('turnutils_stunclient', ['-p', String(server.turn!.server.addresses.udp), '127.0.0.1']);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  test('turnutils_uclient relays every packet: UDP and TCP with channels, UDP with Send indications, TCP relay-to-relay', async () => {
    // uclient takes ~5 s per run whatever the server (its own timers; coturn measures the same), so the runs go in parallel.
    const runs = {
      'UDP, channels': [],
      'TCP, channels': ['-t'],
      'UDP, Send/Data indications': ['-s'],
      'TCP, client to client through two relays': ['-t', '-y'],
    };
    const results = await Promise.all(Object.values(runs).map((flags) => run('turnutils_uclient', uclientArgs(server, peerPort, flags))));
    Object.keys(runs).forEach((what, i) => assertCleanRun(results[i]!, what));
    const { metrics } = server.turn!.server;
    assert.ok(metrics.packetsToPeers >= 240 && metrics.packetsToClients >= 240, `relayed ${metrics.packetsToPeers} / ${metrics.packetsToClients} packets`);
    // The same figures on the node's /metrics, as Prometheus reads them (and valid for promtool).
    const { text } = await scrape(server.url);
    assert.equal(sample(text, 'parley_turn_relayed_packets_total{direction="to_peer"}'), metrics.packetsToPeers);
    assert.equal(sample(text, 'parley_turn_relayed_packets_total{direction="to_client"}'), metrics.packetsToClients);
    assert.ok((sample(text, 'parley_turn_relayed_bytes_total{direction="to_peer"}') ?? 0) >= 240 * 170);
    assert.ok((sample(text, 'parley_turn_allocations_total') ?? 0) >= 4);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  test('a wrong secret is refused (401) and counted', async () => {
    const failures = server.turn!.server.metrics.authFailures;
    const result = await run('turnutils_uclient', uclientArgs(server, peerPort, [], 'not-the-secret-at-all-000'));
    assert.notEqual(result.code, 0);
    assert.match(result.output, /Cannot complete Allocation/);
    assert.ok(server.turn!.server.metrics.authFailures > failures);
    assert.equal(sample((await scrape(server.url)).text, 'parley_turn_refusals_total{reason="auth"}'), server.turn!.server.metrics.authFailures);
  });

  test('without the allow list the loopback peer is refused with 403', async () => {
    const strict = await startServer({ port: 0, ice: { turnSecret: SECRET }, turn: { port: 0, relayPortMin: 46000, relayPortMax: 46999 } }, { logger: silentLogger });
    try {
      const result = await run('turnutils_uclient', uclientArgs(strict, peerPort, []));
      assert.notEqual(result.code, 0);
      assert.match(result.output, /403/);
      assert.ok(strict.turn!.server.metrics.permissionsRefused > 0);
      assert.ok((sample((await scrape(strict.url)).text, 'parley_turn_refusals_total{reason="peer_policy"}') ?? 0) > 0, 'the refusal on /metrics');
      assert.equal(strict.turn!.server.metrics.packetsToPeers, 0);
    } finally {
      await strict.close();
    }
  });
});
