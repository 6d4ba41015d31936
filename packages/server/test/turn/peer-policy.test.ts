/**
 * The peer address policy (CVE-2020-26262 class): forbidden peers get 403 from a real server by
 * default, in every spelling, and are reachable only when an operator allows them; an explicit
 * deny beats an allow; CIDR parsing and coturn ranges.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cidrToRange, parseCidr, PeerPolicy } from '../../src/turn/peer-policy.ts';
import { TurnServer } from '../../src/turn/turn-server.ts';
import { hostIpv4 } from '../helpers.ts';
import { attr, errorCode, restCredentials, SECRET, StunClass, StunMethod, TurnTestClient, turnOptions } from './turn-client.ts';

/** One address in each range the server refuses by default (the test servers relay on 127.0.0.1 and ::1). */
const forbidden = () => [
  { label: 'loopback', address: '127.0.0.2', family: 4 as const },
  { label: 'RFC 1918 10/8', address: '10.0.0.1', family: 4 as const },
  { label: 'RFC 1918 192.168/16', address: '192.168.1.1', family: 4 as const },
  { label: 'link-local', address: '169.254.1.1', family: 4 as const },
  { label: 'shared address space (carrier-grade NAT)', address: '100.64.0.1', family: 4 as const },
  { label: 'benchmarking', address: '198.18.0.1', family: 4 as const },
  { label: 'documentation TEST-NET-3', address: '203.0.113.7', family: 4 as const },
  { label: 'IPv6 unique local', address: 'fd00::1', family: 6 as const },
  { label: 'IPv6 documentation', address: '2001:db8::1', family: 6 as const },
  { label: 'IPv4-mapped loopback', address: '::ffff:127.0.0.2', family: 6 as const },
  { label: '6to4 of a private address', address: '2002:c0a8:101::1', family: 6 as const },
  { label: "the server's own address", address: hostIpv4(), family: 4 as const },
];

/** Allocates over UDP (IPv4 or IPv6 relay) and asks for a permission toward `address`. */
async function createPermission(server: TurnServer, address: string, family: 4 | 6): Promise<number | 'ok'> {
  const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
  try {
    const credentials = restCredentials(SECRET, `policy-${family}`);
    const allocated = await client.authenticated(StunMethod.Allocate, [attr.transport(), attr.family(family)], credentials);
    assert.equal(allocated.cls, StunClass.SuccessResponse);
    const response = await client.request(StunMethod.CreatePermission, [attr.peer({ address, port: 5000, family })], credentials);
    const channel = await client.request(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer({ address, port: 5000, family })], credentials);
    assert.equal(errorCode(channel), errorCode(response), 'ChannelBind gets the same verdict');
    await client.request(StunMethod.Refresh, [attr.lifetime(0)], credentials);
    return response.cls === StunClass.SuccessResponse ? 'ok' : (errorCode(response) ?? -1);
  } finally {
    client.close();
  }
}

describe('TURN peer policy on a real server', () => {
  const servers: TurnServer[] = [];
  const start = async (allowedPeers: string[], deniedPeers: string[] = []) => {
    const server = await TurnServer.start(turnOptions({ allowedPeers, deniedPeers, relayAddressIpv6: '::1', maxAllocationsPerUser: 50 }));
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) await server.close();
  });

  test('by default CreatePermission and ChannelBind toward forbidden peers get 403', async () => {
    const server = await start([]);
    for (const { label, address, family } of forbidden()) {
      assert.equal(await createPermission(server, address, family), 403, `${label} ${address}`);
    }
    assert.equal(server.metrics.permissionsRefused, forbidden().length * 2);
    // A permission sends nothing: no packet leaves for this public address.
    assert.equal(await createPermission(server, '8.8.8.8', 4), 'ok', 'a public peer is allowed');
  });

  test('each forbidden peer succeeds once explicitly allowed', async () => {
    const server = await start(forbidden().map(({ address }) => address));
    for (const { label, address, family } of forbidden()) assert.equal(await createPermission(server, address, family), 'ok', `${label} ${address}`);
  });

  test('an explicit deny wins over an allow, and denies public peers too', async () => {
    const server = await start(['10.0.0.0/8'], ['10.0.0.1/32', '8.8.8.0/24']);
    assert.equal(await createPermission(server, '10.0.0.1', 4), 403);
    assert.equal(await createPermission(server, '10.0.0.2', 4), 'ok');
    assert.equal(await createPermission(server, '8.8.8.8', 4), 403);
  });

  // 198.51.100.0/24 is a documentation range, denied by default: the relay address is reachable
  // (on relay ports) whatever range it is in, as in a lab whose hosts are numbered from one.
  test('a relay address reaches live relay ports only, never other services of the host, even in a denied range', async () => {
    const server = await TurnServer.start(turnOptions({ allowedPeers: [], externalAddress: '198.51.100.20' }));
    servers.push(server);
    const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
    try {
      const credentials = restCredentials(SECRET, 'self');
      const allocated = await client.authenticated(StunMethod.Allocate, [attr.transport()], credentials);
      assert.equal(allocated.cls, StunClass.SuccessResponse);
      const self = { address: '198.51.100.20', family: 4 as const };
      assert.equal((await client.request(StunMethod.CreatePermission, [attr.peer({ ...self, port: 22 })], credentials)).cls, StunClass.SuccessResponse);
      assert.equal(errorCode(await client.request(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer({ ...self, port: 22 })], credentials)), 403);
      const dropped = server.metrics.packetsDropped;
      client.indication(StunMethod.Send, [attr.peer({ ...self, port: 22 }), attr.data(Buffer.from('to sshd'))]);
      await client.until(() => server.metrics.packetsDropped === dropped + 1, 'the packet to a non-relay port dropped');
    } finally {
      client.close();
    }
  });
});

describe('TURN toward the host\'s SFU', () => {
  test('the host\'s own address is reachable on its SFU media ports only: permission, ChannelBind and data there, nowhere else', async () => {
    const own = hostIpv4();
    const server = await TurnServer.start(turnOptions({ allowedPeers: [], mediaPorts: [{ min: 47882, max: 47883 }] }));
    const client = await TurnTestClient.udp('127.0.0.1', server.addresses.udp);
    try {
      const credentials = restCredentials(SECRET, 'to-the-sfu');
      assert.equal((await client.authenticated(StunMethod.Allocate, [attr.transport()], credentials)).cls, StunClass.SuccessResponse);
      const sfu = { address: own, port: 47883, family: 4 as const };
      assert.equal((await client.request(StunMethod.CreatePermission, [attr.peer(sfu)], credentials)).cls, StunClass.SuccessResponse);
      assert.equal((await client.request(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer(sfu)], credentials)).cls, StunClass.SuccessResponse);
      for (const port of [47881, 47884, 22]) {
        assert.equal(errorCode(await client.request(StunMethod.ChannelBind, [attr.channel(0x4001), attr.peer({ ...sfu, port })], credentials)), 403, `port ${port}`);
      }
      const dropped = server.metrics.packetsDropped;
      client.indication(StunMethod.Send, [attr.peer({ ...sfu, port: 22 }), attr.data(Buffer.from('to sshd'))]);
      await client.until(() => server.metrics.packetsDropped === dropped + 1, 'the packet to a port that is not the SFU\'s dropped');
      // Another private address is still refused, SFU port or not.
      assert.equal(errorCode(await client.request(StunMethod.CreatePermission, [attr.peer({ address: '10.0.0.1', port: 47882, family: 4 })], credentials)), 403);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('PeerPolicy and CIDRs', () => {
  const policy = new PeerPolicy({ allowed: [], denied: [], ownAddresses: ['198.51.100.1'], relayAddresses: [] });

  test('every spelling of a forbidden address is denied', () => {
    const denied = [
      '0.0.0.0', '127.0.0.53', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '224.0.0.1', '255.255.255.255',
      '::', '::1', 'fd00::2', 'fc00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:a00:1',
      '::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '198.51.100.1', '::ffff:198.51.100.1', 'not an address',
    ];
    for (const address of denied) assert.equal(policy.check(address), 'deny', address);
    for (const address of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '198.20.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '2001:200::1']) {
      assert.equal(policy.check(address), 'allow', address);
    }
  });

  test('one address of each special-purpose range is denied by default (IANA registries, RFC 6890 and updates)', () => {
    const ranges: Array<[string, string]> = [
      ['this network', '0.1.2.3'], ['private 10/8', '10.255.255.254'], ['shared address space 100.64/10', '100.127.255.254'],
      ['loopback', '127.255.255.254'], ['link-local', '169.254.0.1'], ['private 172.16/12', '172.20.0.1'],
      ['IETF protocol assignments 192.0.0/24', '192.0.0.170'], ['TEST-NET-1', '192.0.2.200'], ['6to4 relay anycast', '192.88.99.1'],
      ['private 192.168/16', '192.168.255.254'], ['benchmarking 198.18/15', '198.19.255.254'], ['TEST-NET-2', '198.51.100.200'],
      ['TEST-NET-3', '203.0.113.200'], ['multicast', '239.255.255.250'], ['reserved 240/4', '250.1.2.3'], ['limited broadcast', '255.255.255.255'],
      ['IPv6 unspecified', '::'], ['IPv6 loopback', '::1'], ['local-use NAT64 64:ff9b:1::/48', '64:ff9b:1::1'], ['discard-only 100::/64', '100::1'],
      ['Teredo 2001::/32', '2001:0:4136:e378::1'], ['benchmarking 2001:2::/48', '2001:2::1'], ['ORCHIDv2 2001:20::/28', '2001:20::1'],
      ['documentation 2001:db8::/32', '2001:db8:ffff::1'], ['documentation 3fff::/20', '3fff:fff::1'], ['6to4 2002::/16', '2002:808:808::1'],
      ['segment routing 5f00::/16', '5f00::1'], ['unique local', 'fdff::1'], ['link-local', 'febf::1'], ['site-local', 'fec0::1'], ['multicast', 'ff0e::1'],
      ['IPv4-mapped private', '::ffff:10.0.0.1'], ['NAT64 of link-local', '64:ff9b::a9fe:1'],
    ];
    const bare = new PeerPolicy({ allowed: [], denied: [], ownAddresses: [], relayAddresses: [] });
    for (const [label, address] of ranges) assert.equal(bare.check(address), 'deny', `${label}: ${address}`);
  });

  test('an operator rule on an IPv4 range holds for its 6to4 spelling too', () => {
    const allowing = new PeerPolicy({ allowed: ['2002::/16'], denied: ['8.8.8.0/24'], ownAddresses: [], relayAddresses: [] });
    assert.equal(allowing.check('2002:808:808::1'), 'deny', '6to4 of 8.8.8.8, denied by the operator as IPv4');
    assert.equal(allowing.check('2002:101:101::1'), 'allow', '6to4 of 1.1.1.1, allowed by the operator');
  });

  test('CIDR parsing refuses what is not a range, with a message naming the input', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 4 });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 6 });
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fe80::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
      assert.throws(() => parseCidr(bad), new RegExp(JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), bad);
    }
  });

  test('coturn ranges: a CIDR becomes first-last', () => {
    assert.equal(cidrToRange('10.0.0.0/8'), '10.0.0.0-10.255.255.255');
    assert.equal(cidrToRange('192.168.1.7'), '192.168.1.7-192.168.1.7');
    assert.equal(cidrToRange('172.16.0.0/12'), '172.16.0.0-172.31.255.255');
    assert.equal(cidrToRange('fc00::/7'), 'fc00:0:0:0:0:0:0:0-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });
});
