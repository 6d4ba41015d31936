/** Relay port reservation on loopback: ports inside the range, EVEN-PORT pairs, reservation tokens and their expiry. */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, test } from 'node:test';
import { RelayPorts, RESERVATION_LIFETIME_MS } from '../../src/turn/relay-ports.ts';

const open: UdpSocket[] = [];

/** A port the kernel just handed out (free a moment ago), kept bound when `hold` is set. */
async function ephemeralPort(hold = false): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  if (hold) open.push(socket);
  else socket.close();
  return port;
}

/** Two consecutive free ports starting at an even one, or undefined after a few tries. */
async function evenPair(): Promise<number | undefined> {
  for (let i = 0; i < 20; i++) {
    const port = await ephemeralPort();
    const even = port % 2 === 0 ? port : port - 1;
    const probe = new RelayPorts({ min: even, max: even + 1 }, Date.now);
    const bound = await probe.bind(4, '127.0.0.1', true, true);
    bound?.forEach((socket) => socket?.close());
    if (bound?.[1] !== undefined) return even;
  }
  return undefined;
}

function keep<T extends UdpSocket | undefined>(socket: T): T {
  if (socket !== undefined) open.push(socket);
  return socket;
}

afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

describe('relay ports', () => {
  test('binds on the relay address at a port of the range', async () => {
    const port = await ephemeralPort();
    const ports = new RelayPorts({ min: port, max: port }, Date.now);
    const bound = await ports.bind(4, '127.0.0.1', false, false);
    assert.ok(bound);
    const socket = keep(bound[0]);
    assert.equal(bound[1], undefined);
    assert.deepEqual({ address: socket.address().address, port: socket.address().port }, { address: '127.0.0.1', port });
  });

  test('gives up (undefined) when no port of the range is free', async () => {
    const port = await ephemeralPort(true);
    const ports = new RelayPorts({ min: port, max: port }, Date.now);
    assert.equal(await ports.bind(4, '127.0.0.1', false, false), undefined);
  });

  test('EVEN-PORT: an even port; with the R bit the next port too', async () => {
    const even = await evenPair();
    // Twenty tries of two adjacent free loopback ports: failing all of them says the machine is out of ports.
    assert.ok(even !== undefined, 'a free even port pair on loopback');
    const ports = new RelayPorts({ min: even, max: even + 1 }, Date.now);
    const single = await ports.bind(4, '127.0.0.1', true, false);
    assert.ok(single);
    assert.equal(keep(single[0]).address().port, even);
    single[0].close();
    open.pop();
    const pair = await ports.bind(4, '127.0.0.1', true, true);
    assert.ok(pair);
    assert.equal(keep(pair[0]).address().port, even);
    assert.equal(keep(pair[1])?.address().port, even + 1);
  });

  test('a pair needs room for the second port in the range', async () => {
    const port = await ephemeralPort();
    const ports = new RelayPorts({ min: port, max: port }, Date.now);
    assert.equal(await ports.bind(4, '127.0.0.1', false, true), undefined);
  });

  test('a reservation token gives its socket and family back once', async () => {
    const ports = new RelayPorts({ min: 1, max: 1 }, Date.now);
    const socket = createSocket('udp4');
    const token = ports.reserve(socket, 4);
    assert.equal(token.length, 8);
    assert.equal(ports.reserved, 1);
    assert.equal(ports.take(Buffer.alloc(8)), undefined);
    const reservation = ports.take(token);
    assert.equal(reservation?.socket, socket);
    assert.equal(reservation?.family, 4);
    assert.equal(ports.take(token), undefined);
    assert.equal(ports.reserved, 0);
    socket.close();
  });

  test('an expired reservation is closed, when taken or when swept', () => {
    let now = 1_000;
    const ports = new RelayPorts({ min: 1, max: 1 }, () => now);
    const taken = createSocket('udp4');
    const swept = createSocket('udp6');
    const closed: string[] = [];
    taken.on('close', () => closed.push('taken'));
    swept.on('close', () => closed.push('swept'));
    const token = ports.reserve(taken, 4);
    ports.reserve(swept, 6);
    ports.sweep(now + RESERVATION_LIFETIME_MS - 1);
    assert.equal(ports.reserved, 2);
    now += RESERVATION_LIFETIME_MS;
    assert.equal(ports.take(token), undefined);
    ports.sweep(now);
    assert.equal(ports.reserved, 0);
    return new Promise<void>((resolve) => setImmediate(() => (assert.deepEqual(closed.sort(), ['swept', 'taken']), resolve())));
  });

  test('close() closes every reservation', () => {
    const ports = new RelayPorts({ min: 1, max: 1 }, Date.now);
    const socket = createSocket('udp4');
    let closed = false;
    socket.on('close', () => (closed = true));
    ports.reserve(socket, 4);
    ports.close();
    assert.equal(ports.reserved, 0);
    return new Promise<void>((resolve) => setImmediate(() => (assert.ok(closed), resolve())));
  });
});
