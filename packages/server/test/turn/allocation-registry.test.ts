/**
 * The allocation registry without a server: lookup by UDP 5-tuple, by connection and by relay
 * port, per-user counts, pending Allocates, expiry by sweep, and the allocation metrics.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Socket as TcpSocket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Allocation, PERMISSION_LIFETIME_MS } from '../../src/turn/allocation.ts';
import { AllocationRegistry } from '../../src/turn/allocation-registry.ts';
import { StreamClient, UdpClient, type ClientTransport } from '../../src/turn/client-transport.ts';
import { TurnMetrics } from '../../src/turn/metrics.ts';

const sockets: UdpSocket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) {
    try {
      socket.close();
    } catch {
      // Already closed by a deleted allocation.
    }
  }
});

/** An unbound socket: nothing is sent in these tests. */
function udpSocket(): UdpSocket {
  const socket = createSocket('udp4');
  sockets.push(socket);
  return socket;
}

function setup() {
  let now = 10_000;
  const metrics = new TurnMetrics();
  const registry = new AllocationRegistry(metrics);
  const context = { metrics, now: () => now, isRelayPort: (port: number) => registry.isRelayPort(port) };
  const listener = udpSocket();
  const make = (client: ClientTransport, identity: string, relayPort: number, lifetimeMs = 600_000) =>
    new Allocation({
      client,
      username: `${identity}-user`,
      identity,
      key: Buffer.alloc(16),
      relaySocket: udpSocket(),
      relayedAddress: { address: '192.0.2.1', port: relayPort, family: 4 },
      lifetimeMs,
      bytesPerSecond: 0,
      context,
    });
  const udpClient = (address: string, port: number) => new UdpClient(listener, address, port, Buffer.alloc(4));
  return { registry, metrics, make, udpClient, advance: (ms: number) => (now += ms), now: () => now };
}

describe('allocation registry', () => {
  test('finds a UDP allocation by its 5-tuple (the raw address the socket reports) and forgets it on delete', () => {
    const { registry, make, udpClient } = setup();
    const a = make(udpClient('::ffff:198.51.100.7', 5000), 'alice', 50_000);
    const b = make(udpClient('::ffff:198.51.100.7', 5001), 'alice', 50_002);
    registry.add(a, undefined);
    registry.add(b, undefined);
    assert.equal(registry.forUdp('::ffff:198.51.100.7', 5000), a);
    assert.equal(registry.forUdp('::ffff:198.51.100.7', 5001), b);
    assert.equal(registry.forUdp('198.51.100.7', 5000), undefined);
    assert.equal(registry.forUdp('::ffff:198.51.100.7', 5002), undefined);
    registry.delete(a);
    assert.equal(registry.forUdp('::ffff:198.51.100.7', 5000), undefined);
    assert.equal(registry.forUdp('::ffff:198.51.100.7', 5001), b);
  });

  test('finds a TCP/TLS allocation by its connection', () => {
    const { registry, make } = setup();
    const connection = new TcpSocket();
    const other = new TcpSocket();
    const allocation = make(new StreamClient('tcp', connection), 'bob', 50_010);
    registry.add(allocation, connection);
    assert.equal(registry.forConnection(connection), allocation);
    assert.equal(registry.forConnection(other), undefined);
    assert.equal(registry.size, 1);
    registry.delete(allocation);
    assert.equal(registry.forConnection(connection), undefined, 'a deleted allocation is not found on its connection (Refresh 0 then Allocate again works)');
    const again = make(new StreamClient('tcp', connection), 'bob', 50_011);
    registry.add(again, connection);
    assert.equal(registry.forConnection(connection), again);
  });

  test('relay ports are reachable while their allocation lives', () => {
    const { registry, make, udpClient } = setup();
    const allocation = make(udpClient('203.0.113.5', 4000), 'carol', 50_020);
    assert.equal(registry.isRelayPort(50_020), false);
    registry.add(allocation, undefined);
    assert.equal(registry.isRelayPort(50_020), true);
    assert.equal(registry.isRelayPort(50_021), false);
    registry.delete(allocation);
    assert.equal(registry.isRelayPort(50_020), false);
  });

  test('counts allocations per user for the quota', () => {
    const { registry, make, udpClient } = setup();
    const first = make(udpClient('203.0.113.5', 4000), 'dave', 50_030);
    const second = make(udpClient('203.0.113.5', 4001), 'dave', 50_032);
    registry.add(first, undefined);
    registry.add(second, undefined);
    registry.add(make(udpClient('203.0.113.6', 4000), 'erin', 50_034), undefined);
    assert.equal(registry.allocationsOf('dave'), 2);
    assert.equal(registry.allocationsOf('erin'), 1);
    assert.equal(registry.allocationsOf('nobody'), 0);
    registry.delete(first);
    registry.delete(first);
    assert.equal(registry.allocationsOf('dave'), 1);
    registry.delete(second);
    assert.equal(registry.allocationsOf('dave'), 0);
  });

  test('an Allocate binding its relay socket counts against the server quota until it ends', () => {
    const { registry, make, udpClient } = setup();
    registry.add(make(udpClient('203.0.113.5', 4000), 'frank', 50_040), undefined);
    registry.beginAllocating('udp 203.0.113.9:1');
    assert.equal(registry.isAllocating('udp 203.0.113.9:1'), true);
    assert.equal(registry.isAllocating('udp 203.0.113.9:2'), false);
    assert.equal(registry.size, 1);
    assert.equal(registry.sizeWithPending, 2);
    registry.endAllocating('udp 203.0.113.9:1');
    assert.equal(registry.isAllocating('udp 203.0.113.9:1'), false);
    assert.equal(registry.sizeWithPending, 1);
  });

  test('sweep deletes expired allocations (closing their relay socket) and tidies the others', async () => {
    const { registry, make, udpClient, advance, now } = setup();
    const short = make(udpClient('203.0.113.5', 4000), 'grace', 50_050, 1_000);
    const long = make(udpClient('203.0.113.5', 4001), 'grace', 50_052, 600_000);
    registry.add(short, undefined);
    registry.add(long, undefined);
    long.installPermission('198.51.100.1', false);
    let closed = false;
    short.relaySocket.on('close', () => (closed = true));
    registry.sweep(now() + 999);
    assert.equal(registry.size, 2);
    advance(1_000);
    registry.sweep(now());
    assert.equal(registry.size, 1);
    assert.equal(registry.forUdp('203.0.113.5', 4000), undefined);
    assert.equal(registry.forUdp('203.0.113.5', 4001), long);
    assert.equal(long.hasPermission('198.51.100.1'), true);
    advance(PERMISSION_LIFETIME_MS);
    registry.sweep(now());
    assert.equal(long.hasPermission('198.51.100.1'), false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed);
  });

  test('keeps allocationsActive and allocationsTotal', () => {
    const { registry, metrics, make, udpClient } = setup();
    const a = make(udpClient('203.0.113.5', 4000), 'heidi', 50_060);
    const b = make(udpClient('203.0.113.5', 4001), 'heidi', 50_062);
    registry.add(a, undefined);
    registry.add(b, undefined);
    assert.deepEqual([metrics.allocationsActive, metrics.allocationsTotal], [2, 2]);
    registry.delete(a);
    assert.deepEqual([metrics.allocationsActive, metrics.allocationsTotal], [1, 2]);
    registry.deleteAll();
    assert.deepEqual([metrics.allocationsActive, metrics.allocationsTotal, registry.size], [0, 2, 0]);
  });
});
