// The NATs of nat.ts measured with real UDP from programs inside their LANs: what a STUN server
// sees of a socket (its mapping) and whether two LANs reach each other by hole punching; and the
// TCP-only firewall of `Network.restrictTo`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { hostIpv4 } from '../../packages/server/test/helpers.ts';
import { ipCommand } from '../harness/namespace-launch.ts';
import { createNattedNetwork, createNetwork, type NattedNetwork } from './index.ts';

const NODE = process.execPath;

/** A host UDP socket that answers every datagram with the address and port it came from. */
async function reflector(host: string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (_data, from) => socket.send(`${from.address}:${from.port}`, from.port, from.address));
  // Bound to one address, so that answers come from where the question went (as a STUN server's
  // must: the NAT passes a reply only from the address and port the flow was sent to).
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { socket, port: (socket.address() as AddressInfo).port };
}

/**
 * Inside a LAN: one socket asks each reflector (argv: host, then ports) what it sees, prints the
 * answers as a JSON line, then reads "address:port" of a peer on stdin, sends to it every 50 ms
 * for 3 s and prints whether anything came back from that peer's address.
 */
const PEER = `
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
const [host, ...ports] = process.argv.slice(1);
const s = createSocket('udp4');
await new Promise((r) => s.bind(0, r));
const seen = [];
for (const port of ports) {
  const answer = new Promise((r) => s.once('message', (d) => r(String(d))));
  const timer = setInterval(() => s.send('who am i', Number(port), host), 100);
  seen.push(await Promise.race([answer, new Promise((r) => setTimeout(() => r('no answer'), 3000))]));
  clearInterval(timer);
}
console.log(JSON.stringify({ local: s.address().port, seen }));
const peer = await new Promise((r) => createInterface({ input: process.stdin }).once('line', r));
const [peerHost, peerPort] = peer.split(':');
let heard = false;
s.on('message', (d, from) => { if (from.address === peerHost) heard = true; });
const timer = setInterval(() => s.send('hello', Number(peerPort), peerHost), 50);
await new Promise((r) => setTimeout(r, 3000));
clearInterval(timer);
console.log(JSON.stringify({ heard }));
process.exit(0);`;

function runPeer(nat: NattedNetwork, host: string, ports: number[]): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(ipCommand(), ['netns', 'exec', nat.namespace, NODE, '--input-type=module', '-e', PEER, '--', host, ...ports.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextJson<T>(lines: AsyncIterator<string>): Promise<T> {
  const line = await Promise.race([lines.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no output from the LAN program within 15 s')), 15_000).unref())]);
  if (line.done) throw new Error('the LAN program ended without output');
  return JSON.parse(line.value) as T;
}

/** Both LANs ask the reflectors for their mappings, then each sends to the mapping the other saw first. */
async function punch(a: NattedNetwork, b: NattedNetwork, host: string, ports: number[]) {
  const peers = [runPeer(a, host, ports), runPeer(b, host, ports)];
  try {
    const mappings = await Promise.all(peers.map(({ lines }) => nextJson<{ local: number; seen: string[] }>(lines)));
    peers[0]!.child.stdin!.write(`${mappings[1]!.seen[0]}\n`);
    peers[1]!.child.stdin!.write(`${mappings[0]!.seen[0]}\n`);
    const heard = await Promise.all(peers.map(({ lines }) => nextJson<{ heard: boolean }>(lines)));
    return { mappings, heard: heard.map((h) => h.heard) };
  } finally {
    for (const { child } of peers) child.kill('SIGKILL');
  }
}

describe('netsim NATs', () => {
  let a: NattedNetwork;
  let b: NattedNetwork;
  const reflectors: Socket[] = [];
  const ports: number[] = [];
  let host: string;
  before(async () => {
    [a, b] = [await createNattedNetwork({ mapping: 'endpoint-independent' }), await createNattedNetwork({ mapping: 'endpoint-independent' })];
    // The host's own address, which both LANs reach through their NATs' default routes.
    host = hostIpv4();
    for (let i = 0; i < 2; i++) {
      const { socket, port } = await reflector(host);
      reflectors.push(socket);
      ports.push(port);
    }
  });
  after(async () => {
    for (const socket of reflectors) socket.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  test('endpoint-independent: one public address and port per socket towards every destination (port kept), and two LANs punch through', async (t) => {
    const { mappings, heard } = await punch(a, b, host, ports);
    t.diagnostic(`mappings: ${JSON.stringify(mappings)}; heard: ${heard.join(', ')}`);
    for (const [nat, { local, seen }] of [[a, mappings[0]!], [b, mappings[1]!]] as const) {
      assert.deepEqual(seen, [`${nat.publicAddress}:${local}`, `${nat.publicAddress}:${local}`], 'the private address never shows; the port is the same for both reflectors');
    }
    assert.deepEqual(heard, [true, true], 'each LAN hears the other at the mapping the reflector saw');
    assert.ok((await a.translatedFlows()) >= 3, 'the NAT translated the flows');
  });

  test('symmetric: a new public port per destination, and two LANs do not reach each other', async (t) => {
    await Promise.all([a.setMapping('symmetric'), b.setMapping('symmetric')]);
    try {
      const { mappings, heard } = await punch(a, b, host, ports);
      t.diagnostic(`mappings: ${JSON.stringify(mappings)}; heard: ${heard.join(', ')}`);
      for (const [nat, { seen }] of [[a, mappings[0]!], [b, mappings[1]!]] as const) {
        assert.ok(seen.every((s) => s.startsWith(`${nat.publicAddress}:`)), `NATed to ${nat.publicAddress}: ${seen.join(', ')}`);
        assert.notEqual(seen[0], seen[1], 'each destination sees another port');
      }
      assert.deepEqual(heard, [false, false], 'what STUN saw is not what the peer would reach');
    } finally {
      await Promise.all([a.setMapping('endpoint-independent'), b.setMapping('endpoint-independent')]);
    }
  });
});

/** Inside a namespace: can it open TCP to each of argv's ports on the host, and does UDP to the last port answer? Prints JSON. */
const PROBE = `
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
const [host, ...ports] = process.argv.slice(1);
const udpPort = Number(ports.pop());
const tcp = (port) => new Promise((r) => { const s = connect(Number(port), host); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); setTimeout(() => { s.destroy(); r(false); }, 1500); });
const udp = () => new Promise((r) => {
  const s = createSocket('udp4');
  const t = setInterval(() => s.send('ping', udpPort, host), 100);
  const done = (answered) => { clearInterval(t); clearTimeout(timer); s.close(); r(answered); };
  const timer = setTimeout(() => done(false), 1500);
  s.once('message', () => done(true));
});
console.log(JSON.stringify({ tcp: await Promise.all(ports.map(tcp)), udp: await udp() }));`;

describe('netsim firewall (restrictTo)', () => {
  test('only TCP to the allowed address and port passes, UDP and other ports are dropped (and counted); lifting it lets everything through', async (t) => {
    const net = await createNetwork();
    const host = hostIpv4();
    const servers: Server[] = [];
    const echo = createSocket('udp4');
    echo.on('message', (data, from) => echo.send(data, from.port, from.address));
    try {
      for (let i = 0; i < 2; i++) {
        const server = createServer((socket) => socket.end());
        await new Promise<void>((resolve) => server.listen(0, host, resolve));
        servers.push(server);
      }
      await new Promise<void>((resolve) => echo.bind(0, host, resolve));
      const [allowed, other] = servers.map((server) => (server.address() as AddressInfo).port) as [number, number];
      const probe = async () => {
        const { stdout } = await net.exec(NODE, ['--input-type=module', '-e', PROBE, '--', host, String(allowed), String(other), String((echo.address() as AddressInfo).port)], { timeoutMs: 15_000 });
        return JSON.parse(stdout.trim()) as { tcp: boolean[]; udp: boolean };
      };
      await net.restrictTo([{ address: host, port: allowed }]);
      const walled = await probe();
      const drops = await net.firewallDrops();
      t.diagnostic(`walled: ${JSON.stringify(walled)}, dropped ${JSON.stringify(drops)}`);
      assert.deepEqual(walled, { tcp: [true, false], udp: false });
      assert.ok(drops.upload > 0, 'the firewall counted what it dropped');
      await net.restrictTo(undefined);
      assert.deepEqual(await probe(), { tcp: [true, true], udp: true }, 'no firewall: everything passes');
    } finally {
      echo.close();
      for (const server of servers) server.close();
      await net.close();
    }
  });
});
