/**
 * The built-in TURN server over real sockets on loopback: authentication and its errors,
 * allocation lifecycle, permissions and channels relaying real UDP, TCP/TLS framing, quotas,
 * and lifetimes (with a controllable clock).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { createLogger } from '../../src/logger.ts';
import { readUint32 } from '../../src/turn/attributes.ts';
import { TurnServer } from '../../src/turn/turn-server.ts';
import { Attr, attr, errorCode, integrityValid, readXorAddress, REALM, restCredentials, SECRET, StunClass, StunMethod, TurnTestClient, turnOptions, type Credentials } from './turn-client.ts';

/** A UDP peer on loopback that records what reaches it. */
class Peer {
  readonly received: Array<{ data: Buffer; port: number }> = [];
  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (data, rinfo) => this.received.push({ data, port: rinfo.port }));
  }
  static async open(): Promise<Peer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Peer(socket);
  }
  get address() {
    return { address: '127.0.0.1', port: this.socket.address().port, family: 4 as const };
  }
  send(data: Buffer, port: number): void {
    this.socket.send(data, port, '127.0.0.1');
  }
  close(): void {
    this.socket.close();
  }
}

async function allocate(client: TurnTestClient, credentials: Credentials, extra: Parameters<TurnTestClient['request']>[1] = []) {
  const response = await client.authenticated(StunMethod.Allocate, [attr.transport(), ...extra], credentials);
  assert.equal(response.cls, StunClass.SuccessResponse, `allocate failed with ${errorCode(response)}`);
  return readXorAddress(response, Attr.XorRelayedAddress)!;
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('TURN server: STUN and authentication', () => {
  let server: TurnServer;
  const clients: TurnTestClient[] = [];
  const udpClient = async () => {
    const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
    clients.push(client);
    return client;
  };
  before(async () => {
    server = await TurnServer.start(turnOptions());
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  test('Binding answers with the XOR-MAPPED-ADDRESS the request came from', async () => {
    const client = await udpClient();
    const response = await client.request(StunMethod.Binding, []);
    assert.equal(response.cls, StunClass.SuccessResponse);
    assert.deepEqual(readXorAddress(response, Attr.XorMappedAddress), client.local());
  });

  test('Allocate without credentials gets 401 with REALM and NONCE and no integrity; with them, a signed success', async () => {
    const client = await udpClient();
    const challenge = await client.request(StunMethod.Allocate, [attr.transport()]);
    assert.equal(errorCode(challenge), 401);
    assert.equal(challenge.text(Attr.Realm), REALM);
    assert.match(challenge.text(Attr.Nonce) ?? '', /^[0-9a-f]{10}[\w-]{22}$/);
    assert.equal(challenge.integrityAt, -1);
    const credentials = restCredentials(SECRET, 'alice');
    const success = await client.request(StunMethod.Allocate, [attr.transport(), attr.lifetime(100_000)], credentials);
    assert.equal(success.cls, StunClass.SuccessResponse);
    assert.ok(integrityValid(success, credentials, REALM), 'the response is signed with the same key');
    const relayed = readXorAddress(success, Attr.XorRelayedAddress);
    assert.equal(relayed?.address, '127.0.0.1');
    assert.ok(relayed!.port >= 40000 && relayed!.port <= 44999);
    assert.equal(readUint32(success, Attr.Lifetime), 3600, 'a requested lifetime is capped at the maximum');
    assert.deepEqual(readXorAddress(success, Attr.XorMappedAddress), client.local());
  });

  test('wrong password, wrong realm and expired usernames get 401; a forged nonce gets 438 and a fresh one', async () => {
    const client = await udpClient();
    await client.request(StunMethod.Allocate, [attr.transport()]);
    const failuresBefore = server.metrics.authFailures;
    const wrongPassword = await client.request(StunMethod.Allocate, [attr.transport()], { ...restCredentials(SECRET, 'bob'), password: 'nope' });
    assert.equal(errorCode(wrongPassword), 401);
    const expired = await client.request(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'bob', -10));
    assert.equal(errorCode(expired), 401);
    assert.match(expired.text(0x0009)?.toString() ?? '', /expired/);
    const otherSecret = await client.request(StunMethod.Allocate, [attr.transport()], restCredentials('another-secret-entirely', 'bob'));
    assert.equal(errorCode(otherSecret), 401);
    const realm = client.realm;
    client.realm = 'other-realm';
    assert.equal(errorCode(await client.request(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'bob'))), 401);
    client.realm = realm;
    assert.equal(server.metrics.authFailures - failuresBefore, 4);
    const validNonce = client.nonce;
    client.nonce = `${validNonce!.slice(0, 10)}${'A'.repeat(22)}`;
    const stale = await client.request(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'bob'));
    assert.equal(errorCode(stale), 438);
    assert.equal(stale.text(Attr.Nonce), client.nonce, 'the 438 carries a fresh nonce');
    assert.notEqual(client.nonce, `${validNonce!.slice(0, 10)}${'A'.repeat(22)}`);
    assert.equal(server.activeAllocations >= 0, true);
    const retried = await client.request(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'bob'));
    assert.equal(retried.cls, StunClass.SuccessResponse);
  });

  test('a nonce issued to one client is stale for another', async () => {
    const first = await udpClient();
    const second = await udpClient();
    await first.request(StunMethod.Allocate, [attr.transport()]);
    second.realm = first.realm;
    second.nonce = first.nonce;
    assert.equal(errorCode(await second.request(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'carol'))), 438);
  });

  test('Allocate errors: 400 without REQUESTED-TRANSPORT, 442 for TCP, 420 for an unknown required attribute, 440 for IPv6 without an IPv6 relay', async () => {
    const client = await udpClient();
    const credentials = restCredentials(SECRET, 'dave');
    await client.request(StunMethod.Allocate, []);
    assert.equal(errorCode(await client.request(StunMethod.Allocate, [], credentials)), 400);
    assert.equal(errorCode(await client.request(StunMethod.Allocate, [attr.transport(6)], credentials)), 442);
    const unknown = await client.request(StunMethod.Allocate, [attr.transport(), attr.raw(0x7777, Buffer.alloc(4))], credentials);
    assert.equal(errorCode(unknown), 420);
    assert.deepEqual(unknown.value(Attr.UnknownAttributes), Buffer.from([0x77, 0x77]));
    assert.equal(errorCode(await client.request(StunMethod.Allocate, [attr.transport(), attr.family(6)], credentials)), 440);
    assert.equal(server.activeAllocations >= 0, true);
  });

  test('a retransmitted Allocate gets the same response; another Allocate on the 5-tuple gets 437', async () => {
    const client = await udpClient();
    const credentials = restCredentials(SECRET, 'erin');
    await client.request(StunMethod.Allocate, [attr.transport()]);
    const transactionId = Buffer.alloc(12, 9);
    const first = await client.request(StunMethod.Allocate, [attr.transport()], credentials, transactionId);
    client.received.stun.length = 0;
    const again = await client.request(StunMethod.Allocate, [attr.transport()], credentials, transactionId);
    assert.deepEqual(again.raw, first.raw);
    assert.equal(errorCode(await client.request(StunMethod.Allocate, [attr.transport()], credentials)), 437);
  });

  test('Refresh: another user gets 441, lifetime 0 deletes, then requests get 437', async () => {
    const client = await udpClient();
    const credentials = restCredentials(SECRET, 'frank');
    await allocate(client, credentials);
    const active = server.activeAllocations;
    assert.equal(errorCode(await client.request(StunMethod.Refresh, [], restCredentials(SECRET, 'mallory'))), 441);
    const refreshed = await client.request(StunMethod.Refresh, [attr.lifetime(1200)], credentials);
    assert.equal(readUint32(refreshed, Attr.Lifetime), 1200);
    const deleted = await client.request(StunMethod.Refresh, [attr.lifetime(0)], credentials);
    assert.equal(deleted.cls, StunClass.SuccessResponse);
    assert.equal(server.activeAllocations, active - 1);
    assert.equal(errorCode(await client.request(StunMethod.CreatePermission, [attr.peer({ address: '127.0.0.1', port: 1, family: 4 })], credentials)), 437);
  });

  test('quotas: 486 past the per-user limit', async () => {
    const credentials = restCredentials(SECRET, 'quota-user');
    for (let i = 0; i < 5; i++) await allocate(await udpClient(), credentials);
    const sixth = await udpClient();
    assert.equal(errorCode(await sixth.authenticated(StunMethod.Allocate, [attr.transport()], credentials)), 486);
    const other = await udpClient();
    await allocate(other, restCredentials(SECRET, 'someone-else'));
  });
});

describe('TURN server: relaying', () => {
  let server: TurnServer;
  let peer: Peer;
  before(async () => {
    server = await TurnServer.start(turnOptions());
    peer = await Peer.open();
  });
  after(async () => {
    peer.close();
    await server.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    test(`${transport}: Send/Data indications and ChannelData both ways, only with a permission`, async () => {
      const client = transport === 'udp' ? await TurnTestClient.udp('127.0.0.1', server.addresses.udp) : await TurnTestClient.stream('tcp', '127.0.0.1', server.addresses.tcp);
      try {
        const credentials = restCredentials(SECRET, `relay-${transport}`);
        const relayed = await allocate(client, credentials);
        const dropped = server.metrics.packetsDropped;
        client.indication(StunMethod.Send, [attr.peer(peer.address), attr.data(Buffer.from('before permission'))]);
        peer.send(Buffer.from('unsolicited'), relayed.port);
        await until(() => server.metrics.packetsDropped === dropped + 2, 'both packets dropped without a permission');

        assert.equal((await client.request(StunMethod.CreatePermission, [attr.peer(peer.address)], credentials)).cls, StunClass.SuccessResponse);
        const hello = `hello peer over ${transport}`;
        client.indication(StunMethod.Send, [attr.peer(peer.address), attr.data(Buffer.from(hello))]);
        await until(() => peer.received.some((r) => r.data.toString() === hello), 'the peer gets the Send data');
        assert.equal(peer.received.find((r) => r.data.toString() === hello)?.port, relayed.port, 'from the relayed address');
        peer.send(Buffer.from('hello client, 21 B.'), relayed.port);
        const data = await client.waitFor((m) => m.method === StunMethod.Data && m.cls === StunClass.Indication, 'a Data indication');
        assert.equal(data.value(Attr.Data)?.toString(), 'hello client, 21 B.');
        assert.deepEqual(readXorAddress(data, Attr.XorPeerAddress), peer.address);

        const bind = await client.request(StunMethod.ChannelBind, [attr.channel(0x4001), attr.peer(peer.address)], credentials);
        assert.equal(bind.cls, StunClass.SuccessResponse);
        client.channelData(0x4001, Buffer.from(`via channel over ${transport}`), transport === 'tcp');
        await until(() => peer.received.some((r) => r.data.toString() === `via channel over ${transport}`), 'the peer gets ChannelData');
        peer.send(Buffer.from('odd length back'), relayed.port);
        await client.until(() => client.received.channelData.some((c) => c.channel === 0x4001 && c.data.toString() === 'odd length back'), 'ChannelData to the client');

        assert.equal(errorCode(await client.request(StunMethod.ChannelBind, [attr.channel(0x4001), attr.peer({ ...peer.address, port: 9 })], credentials)), 400, 'channel taken by another peer');
        assert.equal(errorCode(await client.request(StunMethod.ChannelBind, [attr.channel(0x4002), attr.peer(peer.address)], credentials)), 400, 'peer bound to another channel');
        assert.equal(errorCode(await client.request(StunMethod.ChannelBind, [attr.channel(0x3fff), attr.peer(peer.address)], credentials)), 400, 'channel out of range');
        assert.equal(errorCode(await client.request(StunMethod.CreatePermission, [], credentials)), 400, 'no XOR-PEER-ADDRESS');
      } finally {
        client.close();
      }
    });
  }

  test('TCP framing: two messages in one segment and one message split across segments', async () => {
    const client = await TurnTestClient.stream('tcp', '127.0.0.1', server.addresses.tcp);
    try {
      const credentials = restCredentials(SECRET, 'framing');
      await allocate(client, credentials);
      await client.request(StunMethod.ChannelBind, [attr.channel(0x4100), attr.peer(peer.address)], credentials);
      const frame = (text: string) => {
        const data = Buffer.from(text);
        const bytes = Buffer.alloc(4 + ((data.length + 3) & ~3));
        bytes.writeUInt16BE(0x4100, 0);
        bytes.writeUInt16BE(data.length, 2);
        data.copy(bytes, 4);
        return bytes;
      };
      client.sendRaw(Buffer.concat([frame('one'), frame('two!!')]));
      const split = frame('three, split');
      client.sendRaw(split.subarray(0, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      client.sendRaw(split.subarray(5));
      await until(() => ['one', 'two!!', 'three, split'].every((t) => peer.received.some((r) => r.data.toString() === t)), 'all three frames relayed');
    } finally {
      client.close();
    }
  });

  test('the bandwidth quota drops what exceeds bytes per second', async () => {
    const limited = await TurnServer.start(turnOptions({ bytesPerSecond: 1000 }));
    const client = await TurnTestClient.udp('127.0.0.1', limited.addresses.udp);
    try {
      const credentials = restCredentials(SECRET, 'limited');
      await allocate(client, credentials);
      await client.request(StunMethod.CreatePermission, [attr.peer(peer.address)], credentials);
      const before = peer.received.length;
      for (let i = 0; i < 10; i++) client.indication(StunMethod.Send, [attr.peer(peer.address), attr.data(Buffer.alloc(450, i))]);
      await until(() => limited.metrics.packetsToPeers + limited.metrics.packetsDropped === 10, 'all ten packets handled');
      assert.equal(limited.metrics.packetsToPeers, 2, 'a 1000 B/s budget passes two 450 B packets');
      assert.equal(limited.metrics.packetsDropped, 8);
      await until(() => peer.received.length === before + 2, 'the two reach the peer');
    } finally {
      client.close();
      await limited.close();
    }
  });

  test('TLS: Binding and Allocate over TURN-over-TLS', async () => {
    const certificate = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256' });
    const tls = await TurnServer.start(turnOptions({ tls: { port: 0, cert: certificate.cert, key: certificate.private } }));
    const client = await TurnTestClient.stream('tls', '127.0.0.1', tls.addresses.tls);
    try {
      assert.equal((await client.request(StunMethod.Binding, [])).cls, StunClass.SuccessResponse);
      await allocate(client, restCredentials(SECRET, 'tls-user'));
      assert.equal(tls.activeAllocations, 1);
      client.close();
      await until(() => tls.activeAllocations === 0, 'the allocation ends with its connection');
    } finally {
      client.close();
      await tls.close();
    }
  });
});

describe('TURN server: lifetimes', () => {
  test('permissions expire after 300 s, channels after 600 s, allocations at their lifetime', async () => {
    let now = Date.now();
    const server = await TurnServer.start(turnOptions({ now: () => now }));
    const peer = await Peer.open();
    const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
    try {
      const credentials = restCredentials(SECRET, 'clock', 7200, now);
      const relayed = await allocate(client, credentials, [attr.lifetime(3600)]);
      await client.request(StunMethod.CreatePermission, [attr.peer(peer.address)], credentials);
      const relay = (text: string) => client.indication(StunMethod.Send, [attr.peer(peer.address), attr.data(Buffer.from(text))]);
      now += 299_000;
      relay('at 299 s');
      await until(() => peer.received.some((r) => r.data.toString() === 'at 299 s'), 'relayed before the permission expires');
      now += 2_000;
      const dropped = server.metrics.packetsDropped;
      relay('at 301 s');
      peer.send(Buffer.from('peer at 301 s'), relayed.port);
      await until(() => server.metrics.packetsDropped === dropped + 2, 'both directions dropped after expiry');

      await client.request(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer(peer.address)], credentials);
      now += 599_000;
      // Nonces last 600 s too: `authenticated` follows the 438 like a client would.
      await client.authenticated(StunMethod.CreatePermission, [attr.peer(peer.address)], credentials);
      client.channelData(0x4000, Buffer.from('channel at 599 s'));
      await until(() => peer.received.some((r) => r.data.toString() === 'channel at 599 s'), 'the channel still works at 599 s');
      now += 2_000;
      const droppedBefore = server.metrics.packetsDropped;
      client.channelData(0x4000, Buffer.from('channel at 601 s'));
      await until(() => server.metrics.packetsDropped === droppedBefore + 1, 'the expired channel drops');
      assert.equal(errorCode(await client.authenticated(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer({ ...peer.address, port: 7 })], credentials)), 400, 'an expired channel stays reserved to its peer for 5 minutes');

      now += 2_700_000; // t = 3601 s: past the allocation's 3600 s lifetime
      server.sweep();
      assert.equal(server.activeAllocations, 0);
      assert.equal(server.metrics.allocationsActive, 0);
      assert.equal(errorCode(await client.authenticated(StunMethod.Refresh, [], credentials)), 437);
    } finally {
      client.close();
      peer.close();
      await server.close();
    }
  });

  test('an unusable relay port range gets 508 and the server keeps serving', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
    const port = blocker.address().port;
    const lines: string[] = [];
    const server = await TurnServer.start(turnOptions({ relayPorts: { min: port, max: port }, logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }) }));
    const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
    try {
      assert.equal(errorCode(await client.authenticated(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'no-port'))), 508);
      assert.equal((await client.request(StunMethod.Binding, [])).cls, StunClass.SuccessResponse);
      assert.deepEqual(lines, []);
    } finally {
      client.close();
      blocker.close();
      await server.close();
    }
  });
});
