/**
 * `parley turn-config`'s peer rules, enforced by a real coturn: one address of every default-denied
 * special-purpose range, IPv4 and IPv6 (relaying from an IPv6 address on a veth of the test's own),
 * gets 403 Forbidden on CreatePermission, a public peer gets a permission,
 * and an operator's allowed range and the SFU's announced address open only themselves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { freeUdpPort, hostIpv4 } from '../helpers.ts';
import { startCoturn, type CoturnProcess } from './coturn-process.ts';
import { attr, errorCode, restCredentials, StunClass, StunMethod, TurnTestClient } from './turn-client.ts';

const SECRET = 'coturn-policy-secret-0123456789';

/** One address per default-denied IPv4 range. */
const DENIED = [
  '0.1.2.3', '10.9.8.7', '100.64.0.1', '127.0.0.2', '169.254.169.254', '172.16.5.4', '192.0.0.170', '192.0.2.1',
  '192.88.99.1', '192.168.1.1', '198.18.0.1', '198.51.100.7', '203.0.113.7', '224.0.0.251', '250.1.2.3',
];

/** One address per default-denied IPv6 range (6to4 and IPv4-mapped forms included). */
const DENIED_V6 = [
  '::', '::1', '64:ff9b:1::7', '100::7', '2001::7', '2001:2::7', '2001:db8::7', '2002:c0a8:101::1', '3fff::7',
  '5f00::7', 'fc00::7', 'fd12:3456::7', 'fe80::7', 'fec0::7', 'ff02::1',
  // IPv4 private and special ranges in the forms that reach them: mapped, NAT64.
  '::ffff:10.0.0.1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '::ffff:100.64.0.1', '64:ff9b::a00:1', '64:ff9b::7f00:1', '64:ff9b::c0a8:101',
];

/** A relay address coturn can bind that is not loopback (relaying from loopback, coturn refuses every other peer whatever its lists say). */
const RELAY_V6 = '2001:db8:99::1';
/** A veth pair of this test's own (this kernel has no dummy links), both ends on the host; removing one removes both. */
const LINK = `pc6a${process.pid % 1_000_000}`;
const LINK_PEER = `pc6b${process.pid % 1_000_000}`;

/** Allocates on coturn and asks for a permission toward `address` (no packet is sent to it). */
async function permissionOn(port: number, address: string, family: 4 | 6, log: () => string): Promise<number | 'ok'> {
  const client = await TurnTestClient.udp('127.0.0.1', port);
  try {
    const credentials = restCredentials(SECRET, `policy-${address}`);
    const allocated = await client.authenticated(StunMethod.Allocate, [attr.transport(), ...(family === 6 ? [attr.family(6)] : [])], credentials);
    assert.equal(allocated.cls, StunClass.SuccessResponse, `coturn allocates (${errorCode(allocated)}):\n${log().slice(-2000)}`);
    const response = await client.request(StunMethod.CreatePermission, [attr.peer({ address, port: 5000, family })], credentials);
    await client.request(StunMethod.Refresh, [attr.lifetime(0)], credentials);
    return response.cls === StunClass.SuccessResponse ? 'ok' : (errorCode(response) ?? -1);
  } finally {
    client.close();
  }
}

describe('a real coturn configured by parley turn-config', () => {
  let coturn: CoturnProcess | undefined;
  let port = 0;
  const log = () => coturn?.log() ?? '';
  const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });

  before(async () => {
    // The IPv6 relay address lives on a link of this test's own (root, as the e2e namespaces need), removed after.
    ip('link', 'del', LINK);
    for (const args of [['link', 'add', LINK, 'type', 'veth', 'peer', 'name', LINK_PEER], ['addr', 'add', `${RELAY_V6}/128`, 'dev', LINK, 'nodad'], ['link', 'set', LINK, 'up'], ['link', 'set', LINK_PEER, 'up']]) {
      const result = ip(...args);
      assert.equal(result.status, 0, `ip ${args.join(' ')}: ${result.stderr} (needs root and iproute2, as the e2e network namespaces do)`);
    }
    port = await freeUdpPort();
    coturn = await startCoturn({
      PARLEY_TURN_SECRET: SECRET,
      PARLEY_TURN_HOST: '127.0.0.1',
      PARLEY_TURN_PORT: String(port),
      // Relaying from 127.0.0.1, coturn refuses every non-loopback peer whatever its lists say.
      PARLEY_TURN_RELAY_ADDRESS: hostIpv4(),
      PARLEY_TURN_RELAY_ADDRESS_IPV6: RELAY_V6,
      // An operator's explicit allow: one host of a denied documentation range.
      PARLEY_TURN_ALLOWED_PEERS: '198.51.100.99',
      // The SFU's announced media address: relayed participants must reach it.
      PARLEY_SFU_ANNOUNCED_ADDRESS: '203.0.113.50',
    });
  });

  after(() => {
    coturn?.stop();
    ip('link', 'del', LINK);
  });

  const permission = (address: string) => permissionOn(port, address, 4, log);

  test('every default-denied range gets 403 Forbidden', async () => {
    for (const address of DENIED) assert.equal(await permission(address), 403, address);
  });

  // coturn reads a `denied-peer-ip=::-::` range as "any address": with the unspecified address in
  // the list this fails, every peer refused.
  test('a public peer gets a permission, and so does the one host the operator allowed in a denied range', async () => {
    assert.equal(await permission('8.8.8.8'), 'ok', log().slice(-3000));
    assert.equal(await permission('198.51.100.99'), 'ok', 'allowed by turn.allowedPeers');
    assert.equal(await permission('198.51.100.98'), 403, 'its neighbour stays denied');
    assert.equal(await permission('203.0.113.50'), 'ok', "the SFU's media address, allowed by turn-config");
    assert.equal(await permission('203.0.113.51'), 403, 'its neighbour stays denied');
  });

  test('every default-denied IPv6 range gets 403 Forbidden; a public IPv6 peer gets a permission', async () => {
    assert.equal(await permissionOn(port, '2001:4860:4860::8888', 6, log), 'ok', `a public IPv6 peer is relayed to:\n${log().slice(-3000)}`);
    assert.equal(await permissionOn(port, '64:ff9b::808:808', 6, log), 'ok', 'NAT64 of a public IPv4 address (8.8.8.8) is relayed to');
    for (const address of DENIED_V6) assert.equal(await permissionOn(port, address, 6, log), 403, address);
  });
});
