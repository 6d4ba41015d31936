// The netsim delay relays on loopback (no namespace, no root): what they forward, how much delay
// they add, that they keep order, map each client separately, and let go of everything.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TcpProxy } from './tcp-proxy.ts';
import { UdpRelay } from './udp-relay.ts';

const LOOPBACK = '127.0.0.1';

describe('UdpRelay', () => {
  let echo: Socket;
  let echoPort: number;
  /** Source ports the echo server saw. */
  const sources = new Set<number>();
  before(async () => {
    echo = createSocket('udp4');
    echo.on('message', (data, from) => {
      sources.add(from.port);
      echo.send(data, from.port, from.address);
    });
    await new Promise<void>((resolve) => echo.bind(0, LOOPBACK, resolve));
    echoPort = (echo.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  test('forwards both ways, one upstream socket per client, in order', async () => {
    const relay = await UdpRelay.start({ listen: { host: LOOPBACK }, target: { host: LOOPBACK, port: echoPort }, delayMs: 30 });
    const clients = await Promise.all([udpClient(), udpClient()]);
    try {
      sources.clear();
      // Paced: 400 datagrams at once would overflow the receivers' socket buffers (as on any network).
      for (let i = 0; i < 200; i++) {
        for (const client of clients) client.socket.send(String(i), relay.address.port, LOOPBACK);
        if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      for (const client of clients) await waitFor(() => client.received.length === 200, 'all 200 echoes', 3000);
      for (const client of clients) assert.deepEqual(client.received, Array.from({ length: 200 }, (_, i) => String(i)));
      assert.equal(sources.size, 2, 'the server saw two distinct client addresses');
      assert.equal(relay.clientCount, 2);
    } finally {
      for (const client of clients) client.socket.close();
      await relay.close();
    }
  });

  test('adds the delay in each direction, and a new delay applies to what comes next', async () => {
    const relay = await UdpRelay.start({ listen: { host: LOOPBACK }, target: { host: LOOPBACK, port: echoPort }, delayMs: 100 });
    const client = await udpClient();
    try {
      const slow = await roundTrips(client, relay.address.port, 5);
      assert.ok(Math.min(...slow) >= 195, `every round trip takes two 100 ms delays: ${slow.join(', ')} ms`);
      assert.ok(Math.max(...slow) < 600, `and not much more: ${slow.join(', ')} ms`);
      relay.delayMs = 0;
      const fast = await roundTrips(client, relay.address.port, 5);
      assert.ok(Math.min(...fast) < 50, `without delay it is quick: ${fast.join(', ')} ms`);
    } finally {
      client.socket.close();
      await relay.close();
    }
  });

  test('drops the upstream socket of a silent client, and close() frees the port', async () => {
    const relay = await UdpRelay.start({ listen: { host: LOOPBACK }, target: { host: LOOPBACK, port: echoPort }, idleMs: 200 });
    const { port } = relay.address;
    const client = await udpClient();
    client.socket.send('x', port, LOOPBACK);
    await waitFor(() => client.received.length === 1, 'the echo', 2000);
    assert.equal(relay.clientCount, 1);
    await waitFor(() => relay.clientCount === 0, 'the idle mapping to go', 3000);
    client.socket.close();
    await relay.close();
    const again = await UdpRelay.start({ listen: { host: LOOPBACK, port }, target: { host: LOOPBACK, port: echoPort } });
    await again.close();
  });
});

describe('TcpProxy', () => {
  let server: Server;
  let target: { host: string; port: number };
  before(async () => {
    // Echoes everything; on the client's end-of-stream, sends "bye" and ends (a half-close).
    server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (data) => socket.write(data));
      socket.on('end', () => socket.end('bye'));
    });
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    target = { host: LOOPBACK, port: (server.address() as AddressInfo).port };
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('carries 8 MB both ways intact, and a half-close in each direction', async () => {
    const proxy = await TcpProxy.start({ listen: { host: LOOPBACK }, target, delayMs: 5 });
    try {
      const payload = randomBytes(8 * 1024 * 1024);
      const socket = connect(proxy.address.port, LOOPBACK);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise<void>((resolve) => socket.on('end', resolve));
      socket.end(payload);
      await ended;
      const received = Buffer.concat(chunks);
      assert.equal(received.length, payload.length + 3);
      assert.equal(sha256(received.subarray(0, payload.length)), sha256(payload));
      assert.equal(received.subarray(payload.length).toString(), 'bye');
    } finally {
      await proxy.close();
    }
  });

  test('adds the delay to each request/response round trip, changeable at run time', async () => {
    const proxy = await TcpProxy.start({ listen: { host: LOOPBACK }, target, delayMs: 100 });
    const socket = connect(proxy.address.port, LOOPBACK);
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      const slow = await tcpRoundTrips(socket, 4);
      assert.ok(Math.min(...slow) >= 195, `two 100 ms delays per round trip: ${slow.join(', ')} ms`);
      assert.ok(Math.max(...slow) < 600, `and not much more: ${slow.join(', ')} ms`);
      proxy.delayMs = 0;
      await tcpRoundTrips(socket, 1); // one may still follow the old delay's chain
      const fast = await tcpRoundTrips(socket, 4);
      assert.ok(Math.min(...fast) < 50, `without delay it is quick: ${fast.join(', ')} ms`);
    } finally {
      socket.destroy();
      await proxy.close();
    }
  });

  test('a refused upstream closes the client connection', async () => {
    const closedPort = await freePort();
    const proxy = await TcpProxy.start({ listen: { host: LOOPBACK }, target: { host: LOOPBACK, port: closedPort } });
    try {
      const socket = connect(proxy.address.port, LOOPBACK);
      socket.on('error', () => {});
      await new Promise((resolve) => socket.on('close', resolve));
    } finally {
      await proxy.close();
    }
  });
});

async function udpClient(): Promise<{ socket: Socket; received: string[] }> {
  const socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (data) => received.push(String(data)));
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  return { socket, received };
}

async function roundTrips(client: { socket: Socket; received: string[] }, port: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const tag = `ping-${Math.random()}`;
    const started = performance.now();
    client.socket.send(tag, port, LOOPBACK);
    await waitFor(() => client.received.includes(tag), `echo of ${tag}`, 3000, 1);
    times.push(Math.round(performance.now() - started));
  }
  return times;
}

async function tcpRoundTrips(socket: import('node:net').Socket, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const reply = new Promise((resolve) => socket.once('data', resolve));
    socket.write(`ping ${i}`);
    await reply;
    times.push(Math.round(performance.now() - started));
  }
  return times;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, LOOPBACK, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
