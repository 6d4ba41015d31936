// Why this file is ~430 lines: the harness's tests share the namespaces they create, which a
// split into files would make and remove once per file.
// The network simulation harness itself, measured with real traffic between the host and
// programs running inside the namespaces (node scripts started with `ip netns exec`).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNetwork, sweepStaleNetworks, type Network } from './index.ts';

const NODE = process.execPath;

/** Runs an ES module snippet with node inside the namespace and parses the JSON it prints last. */
async function inNamespace<T>(network: Network, code: string, args: string[], timeoutMs = 15_000): Promise<T> {
  const { stdout } = await network.exec(NODE, ['--input-type=module', '-e', code, '--', ...args], { timeoutMs });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

describe('netsim', () => {
  let net: Network;
  before(async () => {
    net = await createNetwork();
  });
  after(() => net?.close());

  test('the namespace has a non-loopback interface with a default route, and reaches the host at its veth address', async () => {
    const routes = (await net.exec('ip', ['-4', 'route'])).stdout;
    assert.match(routes, new RegExp(`^default via ${net.hostAddress.replaceAll('.', '\\.')} dev eth0`, 'm'));
    const server = createHttpServer((request, response) => response.end(request.socket.remoteAddress));
    await listen(server, net.hostAddress);
    try {
      const seen = await inNamespace<string>(net, `const r = await fetch(process.argv[1]); console.log(JSON.stringify(await r.text()));`, [`http://${net.hostAddress}:${port(server)}/`]);
      assert.equal(seen, net.address, 'the host sees the namespace address, not loopback');
    } finally {
      server.close();
    }
  });

  test('two namespaces reach each other through the host; what is headed elsewhere is dropped at the host', async () => {
    const other = await createNetwork();
    try {
      const echo = other.spawn(NODE, ['--input-type=module', '-e', UDP_ECHO]);
      const echoPort = Number(await firstLine(echo));
      const reply = await inNamespace<string>(net, UDP_PING, [other.address, String(echoPort)]);
      assert.equal(reply, `pong from ${other.address}`);

      const dropped = () => forwardGuardDrops(net);
      const before = dropped();
      // 198.51.100.0/24 is a documentation range (RFC 5737): it is routed nowhere even if it left.
      await inNamespace(net, `import { createSocket } from 'node:dgram'; const s = createSocket('udp4');
        for (let i = 0; i < 3; i++) await new Promise((r) => s.send('x', 9, '198.51.100.1', r)); s.close(); console.log('true');`, []);
      assert.equal(dropped() - before, 3, 'the forwarding guard dropped the 3 datagrams headed out of the host');
    } finally {
      await other.close();
    }
  });

  test('lossy: measured UDP loss is in the expected band in each direction, and clear removes it', async (t) => {
    const echo = createSocket('udp4');
    const arrivals = new Set<number>();
    echo.on('message', (data, from) => {
      arrivals.add(data.readUInt32BE(0));
      echo.send(data, from.port, from.address);
    });
    await new Promise<void>((resolve) => echo.bind(0, net.hostAddress, resolve));
    const echoPort = (echo.address() as AddressInfo).port;
    const burst = async () => {
      arrivals.clear();
      const echoes = await inNamespace<number>(net, UDP_BURST, [net.hostAddress, String(echoPort), String(BURST_SIZE)]);
      return { upload: 1 - arrivals.size / BURST_SIZE, download: 1 - echoes / arrivals.size };
    };
    try {
      await net.applyProfile('lossy'); // 7 %
      const lossy = await burst();
      t.diagnostic(`lossy (7 %): upload ${(lossy.upload * 100).toFixed(2)} %, download ${(lossy.download * 100).toFixed(2)} % of ${BURST_SIZE} datagrams`);
      for (const [direction, loss] of Object.entries(lossy)) {
        assert.ok(loss >= 0.04 && loss <= 0.1, `${direction} loss ${(loss * 100).toFixed(2)} % is within 4-10 % for a 7 % profile`);
      }
      // The rule's own counters: what it dropped, each way, out of what was sent that way.
      const dropped = await net.droppedPackets();
      const sent = { upload: BURST_SIZE, download: arrivals.size };
      t.diagnostic(`dropped by the rule: upload ${dropped.upload}, download ${dropped.download}`);
      for (const direction of ['upload', 'download'] as const) {
        const share = dropped[direction] / sent[direction];
        assert.ok(share >= 0.04 && share <= 0.1, `the rule counted ${dropped[direction]} ${direction} drops of ${sent[direction]} (${(share * 100).toFixed(2)} %)`);
      }
      await net.applyProfile('clear');
      const clear = await burst();
      t.diagnostic(`clear: upload ${(clear.upload * 100).toFixed(2)} %, download ${(clear.download * 100).toFixed(2)} %`);
      // Not exactly 0: on a loaded machine a starved receiver can overflow its socket buffer.
      for (const [direction, loss] of Object.entries(clear)) assert.ok(loss <= 0.015, `${direction} loss ${(loss * 100).toFixed(2)} % on a clear link`);
    } finally {
      await net.applyProfile('clear');
      echo.close();
    }
  });

  test('tbf caps measured TCP throughput in both directions; clear lifts the cap', async (t) => {
    const received = { bytes: 0 };
    const sink = createServer((socket) => socket.on('data', (chunk: Buffer) => (received.bytes += chunk.length)));
    const source = createServer((socket) => pour(socket));
    await Promise.all([listen(sink, net.hostAddress), listen(source, net.hostAddress)]);
    const download = () => inNamespace<number>(net, TCP_DOWNLOAD_KBPS, [net.hostAddress, String(port(source))]);
    const upload = async () => {
      const child = net.spawn(NODE, ['--input-type=module', '-e', TCP_POUR, '--', net.hostAddress, String(port(sink))]);
      try {
        return await measureKbps(received, () => child.exitCode === null);
      } finally {
        child.kill('SIGKILL');
      }
    };
    try {
      await net.shape({ rateKbit: 800 });
      const [down, up] = [await download(), await upload()];
      t.diagnostic(`tbf 800 kbit/s: down ${Math.round(down)} kbit/s, up ${Math.round(up)} kbit/s`);
      for (const [direction, kbps] of Object.entries({ down, up })) {
        // TCP goodput under a tbf is a little below the rate (headers), never above it.
        assert.ok(kbps >= 800 * 0.75 && kbps <= 800 * 1.05, `${direction} ${Math.round(kbps)} kbit/s under an 800 kbit/s tbf`);
      }
      await net.applyProfile('clear');
      const unshaped = await download();
      t.diagnostic(`unshaped: down ${Math.round(unshaped)} kbit/s`);
      assert.ok(unshaped > 800 * 20, `${Math.round(unshaped)} kbit/s once cleared`);
    } finally {
      await net.applyProfile('clear');
      sink.close();
      source.close();
    }
  });

  test('a shape with a direction impairs that way only: tbf on one veth end, loss dropped one way', async (t) => {
    const echo = createSocket('udp4');
    let arrivals = 0;
    echo.on('message', (data, from) => {
      arrivals++;
      echo.send(data, from.port, from.address);
    });
    await new Promise<void>((resolve) => echo.bind(0, net.hostAddress, resolve));
    const tbfOn = async () => ({
      download: /\btbf\b/.test(execFileSync('tc', ['qdisc', 'show', 'dev', net.hostInterface], { encoding: 'utf8' })),
      upload: /\btbf\b/.test((await net.exec('tc', ['qdisc', 'show', 'dev', 'eth0'])).stdout),
    });
    try {
      for (const direction of ['upload', 'download'] as const) {
        await net.shape({ rateKbit: 800, direction });
        assert.deepEqual(await tbfOn(), { upload: direction === 'upload', download: direction === 'download' }, `tbf for ${direction} only`);
        // Loss alone: under the tbf too, the burst would overflow its queue before the drop rule.
        await net.shape({ lossPercent: 20, direction });
        arrivals = 0;
        const echoes = await inNamespace<number>(net, UDP_BURST, [net.hostAddress, String((echo.address() as AddressInfo).port), '1000']);
        const dropped = await net.droppedPackets();
        t.diagnostic(`${direction} only, 20 %: ${arrivals} of 1000 arrived, ${echoes} echoes came back; dropped ${JSON.stringify(dropped)}`);
        const other = direction === 'upload' ? 'download' : 'upload';
        const sent = { upload: 1000, download: arrivals };
        assert.ok(dropped[direction] >= sent[direction] * 0.12, `${dropped[direction]} of ${sent[direction]} dropped ${direction}`);
        assert.equal(dropped[other], 0, `nothing dropped ${other}`);
      }
      await net.shape({});
      assert.deepEqual(await tbfOn(), { upload: false, download: false }, 'no tbf once cleared');
    } finally {
      await net.applyProfile('clear');
      echo.close();
    }
  });

  test('outage blocks all traffic both ways for its duration, then traffic flows again', async () => {
    // Pings from the namespace carry their send time; the host answers each and also sends a
    // timestamped beacon every 20 ms, so each direction is measured on its own. Both sides use
    // the same clock, and send times (not arrival handling, which a busy event loop delays) say
    // whether a datagram was sent while the link was down.
    const echo = createSocket('udp4');
    const pingsSent: number[] = [];
    let client: { port: number; address: string } | undefined;
    echo.on('message', (data, from) => {
      pingsSent.push(Number(String(data)));
      client = from;
      echo.send(data, from.port, from.address);
    });
    const beacon = setInterval(() => client && echo.send(`beacon ${Date.now()}`, client.port, client.address), 20);
    await new Promise<void>((resolve) => echo.bind(0, net.hostAddress, resolve));
    const pinging = inNamespace<number[]>(net, UDP_PINGER, [net.hostAddress, String((echo.address() as AddressInfo).port), '3000']);
    try {
      await waitFor(() => pingsSent.length >= 10, 'pings before the outage', 5000);
      await sleep(300);
      const outage = net.outage(1200);
      await waitFor(() => net.current.blocked === true, 'the outage to begin', 5000);
      // The rules are in place by now, and stay for 1200 ms from (just before) this moment.
      const blockedAt = Date.now();
      await outage;
      const restoredAt = Date.now();
      const beaconsSent = await pinging;
      const during = (times: number[]) => times.filter((t) => t > blockedAt + 20 && t < blockedAt + 1100).length;
      const afterwards = (times: number[]) => times.filter((t) => t > restoredAt).length;
      assert.equal(during(pingsSent), 0, 'no ping sent during the outage reached the host');
      assert.equal(during(beaconsSent), 0, 'no beacon sent during the outage reached the namespace');
      assert.ok(afterwards(pingsSent) >= 10, `pings reached the host again afterwards (${afterwards(pingsSent)})`);
      assert.ok(afterwards(beaconsSent) >= 10, `beacons reached the namespace again afterwards (${afterwards(beaconsSent)})`);
    } finally {
      clearInterval(beacon);
      echo.close();
    }
  });

  test('slow-3g: the round trip through the exposed TCP proxy and the UDP relay is ~400 ms; clear brings it back', async (t) => {
    const tcpEcho = createServer((socket) => socket.pipe(socket));
    await listen(tcpEcho, '127.0.0.1');
    const udpEcho = createSocket('udp4');
    udpEcho.on('message', (data, from) => udpEcho.send(data, from.port, from.address));
    await new Promise<void>((resolve) => udpEcho.bind(0, '127.0.0.1', resolve));
    const proxy = await net.exposeTcp({ host: '127.0.0.1', port: port(tcpEcho) });
    const relay = await net.relayUdp({ host: '127.0.0.1', port: (udpEcho.address() as AddressInfo).port });
    const measure = () => inNamespace<{ tcp: number[]; udp: number[] }>(net, RTT_PROBE, [net.hostAddress, String(proxy.address.port), String(relay.address.port)]);
    try {
      await net.applyProfile('slow-3g');
      const slow = await measure();
      t.diagnostic(`slow-3g round trips: tcp ${slow.tcp.join(', ')} ms; udp ${slow.udp.join(', ')} ms`);
      for (const [kind, rtts] of Object.entries(slow)) {
        assert.ok(Math.min(...rtts) >= 395 && Math.min(...rtts) < 900, `${kind} round trips ${rtts.join(', ')} ms under slow-3g`);
      }
      await net.applyProfile('clear');
      const fast = await measure();
      for (const [kind, rtts] of Object.entries(fast)) assert.ok(Math.min(...rtts) < 100, `${kind} round trips ${rtts.join(', ')} ms once cleared`);
    } finally {
      await net.applyProfile('clear');
      await Promise.all([proxy.close(), relay.close()]);
      tcpEcho.close();
      udpEcho.close();
    }
  });

  test('close() removes namespace, veth and tables; a crashed owner\'s leftovers are swept', async () => {
    const extra = await createNetwork();
    const names = { namespace: extra.namespace, iface: extra.hostInterface, table: extra.nftTable };
    await extra.close();
    assertGone(names);

    // A process that dies by SIGKILL runs no exit hook: its network stays until a sweep.
    const networkModule = fileURLToPath(new URL('./network.ts', import.meta.url));
    const child = spawn(NODE, ['--import', 'tsx', '--input-type=module', '-e',
      `const { createNetwork } = await import(${JSON.stringify(networkModule)}); const n = await createNetwork();
       console.log(JSON.stringify({ namespace: n.namespace, iface: n.hostInterface, table: n.nftTable })); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const leftover = JSON.parse(await firstLine(child)) as typeof names;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.match(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(`^${leftover.namespace}\\b`, 'm'), 'left behind by the killed process');
    sweepStaleNetworks();
    assertGone(leftover);
    assert.match(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(`^${net.namespace}\\b`, 'm'), 'a live owner\'s network is kept');
  });
});

// ---------------------------------------------------------------------------
// Programs run inside the namespaces (ES modules for `node -e`; arguments after `--`)

const BURST_SIZE = 3000;

/** Sends N numbered datagrams (paced, so no socket buffer overflows), prints how many echoes came back. */
const UDP_BURST = `
import { createSocket } from 'node:dgram';
const [host, port, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = createSocket('udp4');
const seen = new Set();
let last = Date.now();
s.on('message', (d) => { seen.add(d.readUInt32BE(0)); last = Date.now(); });
await new Promise((r) => s.bind(0, r));
for (let i = 0; i < count; i++) {
  const b = Buffer.alloc(100); b.writeUInt32BE(i, 0);
  s.send(b, port, host);
  if (i % 10 === 9) await new Promise((r) => setTimeout(r, 2));
}
last = Date.now();
while (Date.now() - last < 300) await new Promise((r) => setTimeout(r, 50));
s.close();
console.log(JSON.stringify(seen.size));`;

/** Echoes datagrams; prints its port first. */
const UDP_ECHO = `
import { createSocket } from 'node:dgram';
const s = createSocket('udp4');
s.on('message', (d, from) => s.send(Buffer.from('pong'), from.port, from.address));
s.bind(0, () => console.log(s.address().port));`;

/** Pings until the first answer (at most 5 s); prints "pong from <address>". */
const UDP_PING = `
import { createSocket } from 'node:dgram';
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = createSocket('udp4');
const answer = new Promise((r) => s.on('message', (d, from) => r(d.toString() + ' from ' + from.address)));
const timer = setInterval(() => s.send('ping', port, host), 50);
const result = await Promise.race([answer, new Promise((r) => setTimeout(() => r('no answer'), 5000).unref())]);
clearInterval(timer); s.close();
console.log(JSON.stringify(result));`;

/** Sends its Date.now() every 20 ms for the given time; prints the send times of the beacons it received. */
const UDP_PINGER = `
import { createSocket } from 'node:dgram';
const [host, port, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = createSocket('udp4');
const beacons = [];
s.on('message', (d) => { const m = /^beacon (\\d+)$/.exec(String(d)); if (m) beacons.push(Number(m[1])); });
const timer = setInterval(() => s.send(String(Date.now()), port, host), 20);
await new Promise((r) => setTimeout(r, ms));
clearInterval(timer);
await new Promise((r) => setTimeout(r, 200));
s.close();
console.log(JSON.stringify(beacons));`;

/** Reads from a TCP source for 2 s; prints kbit/s over the last 1.5 s (after slow start). */
const TCP_DOWNLOAD_KBPS = `
import { connect } from 'node:net';
const socket = connect(Number(process.argv[2]), process.argv[1]);
let bytes = 0, startBytes = 0;
socket.on('data', (c) => { bytes += c.length; });
await new Promise((r) => setTimeout(r, 500));
startBytes = bytes;
const started = performance.now();
await new Promise((r) => setTimeout(r, 1500));
const kbps = ((bytes - startBytes) * 8) / (performance.now() - started);
socket.destroy();
console.log(JSON.stringify(kbps));`;

/** Writes to a TCP sink as fast as it can, until killed. */
const TCP_POUR = `
import { connect } from 'node:net';
const socket = connect(Number(process.argv[2]), process.argv[1]);
const chunk = Buffer.alloc(64 * 1024);
const pour = () => { while (socket.write(chunk)); };
socket.on('drain', pour);
socket.on('connect', pour);
socket.on('error', () => process.exit(0));`;

/** Three TCP round trips through the proxy and three UDP round trips through the relay (ms). */
const RTT_PROBE = `
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
const [host, tcpPort, udpPort] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const socket = connect(tcpPort, host);
socket.setNoDelay(true);
await new Promise((r) => socket.once('connect', r));
const tcp = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const reply = new Promise((r) => socket.once('data', r));
  socket.write('ping');
  await reply;
  tcp.push(Math.round(performance.now() - t));
}
socket.destroy();
const s = createSocket('udp4');
const udp = [];
for (let i = 0; udp.length < 3 && i < 10; i++) {
  // A datagram lost to the profile's random loss is retried after a second.
  const t = performance.now();
  const reply = new Promise((r) => { s.once('message', () => r(true)); setTimeout(() => r(false), 1500).unref(); });
  s.send('ping ' + i, udpPort, host);
  if (await reply) udp.push(Math.round(performance.now() - t));
  s.removeAllListeners('message');
}
s.close();
console.log(JSON.stringify({ tcp, udp }));`;

// ---------------------------------------------------------------------------
// helpers

function pour(socket: Socket): void {
  const chunk = Buffer.alloc(64 * 1024);
  const write = () => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', write);
  socket.on('error', () => socket.destroy());
  write();
}

/** kbit/s arriving in `counter` over 1.5 s, after 0.5 s of warm-up, while `running()`. */
async function measureKbps(counter: { bytes: number }, running: () => boolean): Promise<number> {
  await waitFor(() => counter.bytes > 0 || !running(), 'the first bytes', 5000);
  await sleep(500);
  const [startBytes, started] = [counter.bytes, performance.now()];
  await sleep(1500);
  return ((counter.bytes - startBytes) * 8) / (performance.now() - started);
}

function forwardGuardDrops(network: Network): number {
  const listing = execFileSync('nft', ['list', 'table', 'inet', network.nftTable], { encoding: 'utf8' });
  return [...listing.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

function assertGone(names: { namespace: string; iface: string; table: string }): void {
  assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(`^${names.namespace}\\b`, 'm'), `namespace ${names.namespace} removed`);
  assert.doesNotMatch(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }), new RegExp(`\\b${names.iface}[@:]`), `interface ${names.iface} removed`);
  assert.doesNotMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), new RegExp(`\\b${names.table}$`, 'm'), `tables ${names.table} removed`);
}

async function listen(server: Server | import('node:http').Server, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
}

function port(server: Server | import('node:http').Server): number {
  return (server.address() as AddressInfo).port;
}

function firstLine(child: import('node:child_process').ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no output from the child process within 15 s')), 15_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before printing`)));
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
