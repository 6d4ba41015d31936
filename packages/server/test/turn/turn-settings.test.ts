/**
 * The `turn` configuration and what participants get: env variables, CIDR validation, the
 * built-in server's URLs and working credentials in `joined` (also with no secret configured),
 * regions chosen by hint or default, `refreshIceServers`, and `parley turn-config`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { configFromEnv, ConfigError, resolveConfig, type RunningServer } from '../../src/index.ts';
import { chooseRegion, iceServersFor } from '../../src/ice/ice-servers.ts';
import { defaultRelayAddress, turnUrlHosts } from '../../src/turn/built-in-turn.ts';
import { startTestServer, TestClient, token } from '../helpers.ts';
import { attr, StunClass, StunMethod, TurnTestClient } from './turn-client.ts';

const cli = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));

describe('turn configuration', () => {
  test('environment variables map onto the turn section', () => {
    const input = configFromEnv({
      PARLEY_TURN: '1',
      PARLEY_TURN_PORT: '3479',
      PARLEY_TURN_ALLOWED_PEERS: '10.0.0.0/8, 192.168.1.7',
      PARLEY_TURN_DENIED_PEERS: '10.9.0.0/16',
      PARLEY_TURN_RELAY_PORTS: '50000-50100',
      PARLEY_TURN_REALM: 'example.org',
      PARLEY_TURN_RELAY_ADDRESS_IPV6: '2001:db8::5',
    });
    const config = resolveConfig(input);
    assert.equal(config.turn.enabled, true);
    assert.equal(config.turn.port, 3479);
    assert.deepEqual(config.turn.allowedPeers, ['10.0.0.0/8', '192.168.1.7']);
    assert.deepEqual(config.turn.deniedPeers, ['10.9.0.0/16']);
    assert.equal(config.turn.relayPortMin, 50000);
    assert.equal(config.turn.relayPortMax, 50100);
    assert.equal(config.turn.realm, 'example.org');
    assert.equal(config.turn.relayAddressIpv6, '2001:db8::5');
    assert.equal(resolveConfig({}).turn.port, 3478, 'on by default on 3478');
    assert.equal(resolveConfig({}).turn.enabled, true);
    // 3 TURN URLs x 3 connections at most per session, x 2 sessions (a crashed tab's allocations
    // linger), on two devices: the default must not refuse a rejoin's relay candidates.
    assert.ok(resolveConfig({}).turn.maxAllocationsPerUser >= 3 * 3 * 2, 'a rejoin after a crash keeps its relay candidates');
  });

  test('invalid CIDRs, port ranges and regions are ConfigErrors naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ turn: { allowedPeers: ['10.0.0.0/33'] } }, /turn\.allowedPeers\.0: "10\.0\.0\.0\/33": an IPv4 prefix is at most \/32/],
      [{ turn: { deniedPeers: ['example.com'] } }, /turn\.deniedPeers\.0: "example\.com" is not an IP address or CIDR range/],
      [{ turn: { relayPortMin: 6000, relayPortMax: 5000 } }, /relayPortMin must not exceed/],
      [{ ice: { turnSecret: 'x'.repeat(16), regions: { eu: [{ urls: ['turn:a'] }] }, defaultRegion: 'us' } }, /defaultRegion must name one of ice\.regions/],
      [{ ice: { regions: { eu: [{ urls: ['turn:a'] }] } } }, /ice\.regions need ice\.turnSecret/],
    ];
    for (const [input, message] of cases) assert.throws(() => resolveConfig(input as never), (error: Error) => error instanceof ConfigError && message.test(error.message), JSON.stringify(input));
    assert.throws(() => configFromEnv({ PARLEY_TURN_RELAY_PORTS: '5000' }), /PARLEY_TURN_RELAY_PORTS must look like 49152-65535/);
  });

  test('regions: the hint when configured, else the default, else the first; 2 servers each with credentials', () => {
    const ice = {
      stunUrls: [],
      turnUrls: [],
      turnSecret: 'a-shared-coturn-secret',
      turnCredentialTtlSeconds: 600,
      regions: {
        eu: [{ urls: ['turn:eu1.example.org:3478'] }, { urls: ['turn:eu2.example.org:3478', 'turns:eu2.example.org:443'] }],
        us: [{ urls: ['turn:us1.example.org:3478'] }, { urls: ['turn:us2.example.org:3478'] }],
      },
    };
    assert.equal(chooseRegion(ice, 'us'), 'us');
    assert.equal(chooseRegion(ice, 'mars'), 'eu');
    assert.equal(chooseRegion({ ...ice, defaultRegion: 'us' }, undefined), 'us');
    const servers = iceServersFor('alice', ice, 1_000_000, { region: 'us' });
    assert.deepEqual(servers.map((s) => s.urls), [['turn:us1.example.org:3478'], ['turn:us2.example.org:3478']]);
    assert.ok(servers.every((s) => s.username === '1600:alice' && typeof s.credential === 'string'));
  });
});

describe('the relay address the built-in TURN binds by default: where the SFU is reached', () => {
  // A host with one LAN interface (and loopback); the addresses as defaultRelayAddress gets them.
  const host = ['192.0.2.2', '127.0.0.1'];
  const relayFor = (input: Parameters<typeof resolveConfig>[0], addresses: readonly string[] = host) => {
    const config = resolveConfig(input);
    return defaultRelayAddress(config, config.turn.host ?? config.host, addresses);
  };
  const production = { apiKeys: { k: 'a-long-enough-production-secret-0123456789' }, behindTlsProxy: true };

  test('`npm start` defaults (loopback, with an SFU binding every interface): the host address its candidates carry, not 127.0.0.1', () => {
    assert.equal(relayFor({}), '192.0.2.2');
    assert.equal(relayFor({ host: 'localhost' }, ['10.1.2.3', '127.0.0.1']), '10.1.2.3');
  });

  test('loopback without an SFU on this node, or on a host with no other interface: 127.0.0.1', () => {
    assert.equal(relayFor({ cluster: { redisUrl: 'redis://127.0.0.1:6379', roles: ['signaling'] } }), '127.0.0.1');
    assert.equal(relayFor({}, ['127.0.0.1']), '127.0.0.1');
  });

  test("the SFU's own address wins: its announced address when this host has it, else its bind address", () => {
    assert.equal(relayFor({ ...production, host: '0.0.0.0', sfu: { announcedAddress: '198.51.100.7' } }, ['192.0.2.2', '198.51.100.7', '127.0.0.1']), '198.51.100.7');
    assert.equal(relayFor({ ...production, host: '0.0.0.0', sfu: { bindAddress: '198.51.100.7' } }, ['192.0.2.2', '198.51.100.7', '127.0.0.1']), '198.51.100.7');
    assert.equal(relayFor({ sfu: { bindAddress: '127.0.0.1' } }), '127.0.0.1', 'an SFU bound to loopback: relay from loopback');
    // A 1:1 NAT's public address is not on this host: nothing can bind it (turn.externalAddress is what clients are told).
    assert.equal(relayFor({ ...production, host: '0.0.0.0', sfu: { announcedAddress: '203.0.113.10' } }), '192.0.2.2');
  });

  test('a server on one address relays from it; a wildcard one from the first non-loopback IPv4; turn.relayAddress always wins', () => {
    assert.equal(relayFor({ ...production, host: '192.0.2.2' }, ['10.0.0.1', '192.0.2.2', '127.0.0.1']), '192.0.2.2');
    assert.equal(relayFor({ ...production, host: '0.0.0.0' }), '192.0.2.2');
    assert.equal(relayFor({ ...production, host: '::' }), '192.0.2.2');
    assert.equal(relayFor({ turn: { relayAddress: '127.0.0.1' } }), '127.0.0.1');
    assert.equal(relayFor({ ...production, host: '0.0.0.0', sfu: { announcedAddress: '198.51.100.7' }, turn: { relayAddress: '192.0.2.2' } }, ['192.0.2.2', '198.51.100.7']), '192.0.2.2');
  });
});

describe('the host the built-in TURN URLs name', () => {
  test('turns: carries the public host name (certificate check; Firefox refuses turns: with an IP); stun:/turn: the external address when set beside it', () => {
    const both = turnUrlHosts({ publicHost: 'turn.example.com', externalAddress: '203.0.113.10' }, '0.0.0.0', '10.0.0.5');
    assert.deepEqual(both, { plain: '203.0.113.10', tls: 'turn.example.com' });
    assert.deepEqual(turnUrlHosts({ publicHost: 'turn.example.com' }, '0.0.0.0', '10.0.0.5'), { plain: 'turn.example.com', tls: 'turn.example.com' });
    assert.deepEqual(turnUrlHosts({ externalAddress: '203.0.113.10' }, '0.0.0.0', '10.0.0.5'), { plain: '203.0.113.10', tls: '203.0.113.10' });
  });

  test('without either: the listening address, or the relay address when listening on every interface; IPv6 in brackets', () => {
    assert.deepEqual(turnUrlHosts({}, '192.0.2.2', '192.0.2.2'), { plain: '192.0.2.2', tls: '192.0.2.2' });
    assert.deepEqual(turnUrlHosts({}, '0.0.0.0', '10.0.0.5'), { plain: '10.0.0.5', tls: '10.0.0.5' });
    assert.deepEqual(turnUrlHosts({}, '2001:db8::1', '10.0.0.5'), { plain: '[2001:db8::1]', tls: '[2001:db8::1]' });
  });
});

describe('the built-in TURN server in a running Parley', () => {
  const servers: RunningServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });

  test('joined carries its stun:/turn: URLs (UDP and TCP) with credentials that work, even with no secret configured', async () => {
    const server = await startTestServer({ turn: { port: 0 } });
    servers.push(server);
    const client = await TestClient.open(server);
    const joined = await client.request({ type: 'join', token: await token('ice', 'alice') });
    assert.equal(joined.type, 'joined');
    if (joined.type !== 'joined') return;
    const port = server.turn!.server.addresses.udp;
    assert.deepEqual(joined.iceServers.find((s) => s.username === undefined)?.urls, [`stun:127.0.0.1:${port}`]);
    const turn = joined.iceServers.find((s) => s.username !== undefined)!;
    assert.deepEqual(turn.urls, [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`]);
    assert.equal(joined.iceTtlSeconds, 24 * 3600);
    assert.match(turn.username!, /^\d+:alice$/);
    // The generated per-process secret: the credentials allocate on the built-in server.
    const turnClient = await TurnTestClient.udp('127.0.0.1', port);
    try {
      const allocated = await turnClient.authenticated(StunMethod.Allocate, [attr.transport()], { username: turn.username!, password: turn.credential! });
      assert.equal(allocated.cls, StunClass.SuccessResponse);
    } finally {
      turnClient.close();
      client.close();
    }
  });

  test('refreshIceServers answers with fresh credentials; the join region hint picks the region', async () => {
    const server = await startTestServer({
      ice: {
        turnSecret: 'a-configured-turn-secret',
        turnCredentialTtlSeconds: 60,
        regions: { eu: [{ urls: ['turn:eu1.example.org'] }, { urls: ['turn:eu2.example.org'] }], us: [{ urls: ['turn:us1.example.org'] }, { urls: ['turn:us2.example.org'] }] },
      },
    });
    servers.push(server);
    const client = await TestClient.open(server);
    try {
      const joined = await client.request({ type: 'join', token: await token('ice', 'bob'), region: 'us' });
      assert.equal(joined.type, 'joined');
      if (joined.type !== 'joined') return;
      assert.deepEqual(joined.iceServers.map((s) => s.urls[0]), ['turn:us1.example.org', 'turn:us2.example.org']);
      assert.equal(joined.iceTtlSeconds, 60);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a later second makes a later expiry
      const refreshed = await client.request({ type: 'refreshIceServers' });
      assert.equal(refreshed.type, 'iceServers');
      if (refreshed.type !== 'iceServers') return;
      assert.deepEqual(refreshed.iceServers.map((s) => s.urls[0]), ['turn:us1.example.org', 'turn:us2.example.org'], 'the join hint is kept');
      assert.ok(Number(refreshed.iceServers[0]!.username!.split(':')[0]) > Number(joined.iceServers[0]!.username!.split(':')[0]));
      const eu = await client.request({ type: 'refreshIceServers', region: 'eu' });
      assert.equal(eu.type === 'iceServers' && eu.iceServers[0]!.urls[0], 'turn:eu1.example.org');
      const notJoined = await TestClient.open(server);
      const refused = await notJoined.request({ type: 'refreshIceServers' });
      assert.equal(refused.type === 'error' && refused.code, 'NOT_JOINED');
      notJoined.close();
    } finally {
      client.close();
    }
  });
});

describe('parley turn-config', () => {
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [cli, 'turn-config'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });

  test('prints a coturn config with the same secret, realm, ports, TLS files and peer ranges', () => {
    const result = run({
      PARLEY_TURN_SECRET: 'the-shared-turn-secret',
      PARLEY_TURN_PORT: '3479',
      PARLEY_TURN_REALM: 'example.org',
      PARLEY_TLS_CERT: '/etc/parley/cert.pem',
      PARLEY_TLS_KEY: '/etc/parley/key.pem',
      PARLEY_TURN_ALLOWED_PEERS: '10.0.0.0/8',
      PARLEY_TURN_DENIED_PEERS: '10.1.0.0/16',
    });
    assert.equal(result.status, 0, result.stderr);
    for (const line of [
      'listening-port=3479',
      'use-auth-secret',
      'static-auth-secret=the-shared-turn-secret',
      'realm=example.org',
      'tls-listening-port=5349',
      'cert=/etc/parley/cert.pem',
      'pkey=/etc/parley/key.pem',
      'denied-peer-ip=127.0.0.0-127.255.255.255',
      'denied-peer-ip=10.1.0.0-10.1.255.255',
      'allowed-peer-ip=10.0.0.0-10.0.255.255',
      'allowed-peer-ip=10.2.0.0-10.255.255.255',
    ]) {
      assert.match(result.stdout, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), line);
    }
    assert.doesNotMatch(result.stdout, /allow-loopback-peers/);
    assert.match(result.stdout, /^# Set sfu\.announcedAddress/m, 'without the SFU address, how to add it');
  });

  test('the SFU announced address is allowed, so relayed participants reach the SFU', () => {
    const result = run({ PARLEY_TURN_SECRET: 'the-shared-turn-secret', PARLEY_SFU_ANNOUNCED_ADDRESS: '203.0.113.10' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^allowed-peer-ip=203\.0\.113\.10-203\.0\.113\.10$/m);
  });

  test('without a secret: a placeholder and an instruction', () => {
    const result = run({});
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^static-auth-secret=REPLACE-WITH-PARLEY_TURN_SECRET$/m);
    assert.match(result.stderr, /set PARLEY_TURN_SECRET/);
  });
});
