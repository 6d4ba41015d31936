/**
 * `parley turn-config`'s peer rules, enforced by a real coturn: one address of every default-denied
 * special-purpose range gets 403 Forbidden on CreatePermission, a public peer gets a permission,
 * and an operator's allowed range and the SFU's announced address open only themselves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freeUdpPort, hostIpv4 } from '../helpers.ts';
import { startCoturn, type CoturnProcess } from './coturn-process.ts';
import { attr, errorCode, restCredentials, StunClass, StunMethod, TurnTestClient } from './turn-client.ts';

const SECRET = 'coturn-policy-secret-0123456789';

/** One address per default-denied range (IPv4: coturn here relays over IPv4 only). */
const DENIED = [
  '0.1.2.3', '10.9.8.7', '100.64.0.1', '127.0.0.2', '169.254.169.254', '172.16.5.4', '192.0.0.170', '192.0.2.1',
  '192.88.99.1', '192.168.1.1', '198.18.0.1', '198.51.100.7', '203.0.113.7', '224.0.0.251', '250.1.2.3',
];

describe('a real coturn configured by parley turn-config', () => {
  let coturn: CoturnProcess | undefined;
  let port = 0;
  const log = () => coturn?.log() ?? '';

  before(async () => {
    port = await freeUdpPort();
    coturn = await startCoturn({
      PARLEY_TURN_SECRET: SECRET,
      PARLEY_TURN_HOST: '127.0.0.1',
      PARLEY_TURN_PORT: String(port),
      // Relaying from 127.0.0.1, coturn refuses every non-loopback peer whatever its lists say.
      PARLEY_TURN_RELAY_ADDRESS: hostIpv4(),
      // An operator's explicit allow: one host of a denied documentation range.
      PARLEY_TURN_ALLOWED_PEERS: '198.51.100.99',
      // The SFU's announced media address: relayed participants must reach it.
      PARLEY_SFU_ANNOUNCED_ADDRESS: '203.0.113.50',
    });
  });

  after(() => coturn?.stop());

  /** Allocates on coturn and asks for a permission toward `address` (no packet is sent to it). */
  async function permission(address: string): Promise<number | 'ok'> {
    const client = await TurnTestClient.udp('127.0.0.1', port);
    try {
      const credentials = restCredentials(SECRET, `policy-${address}`);
      const allocated = await client.authenticated(StunMethod.Allocate, [attr.transport()], credentials);
      assert.equal(allocated.cls, StunClass.SuccessResponse, `coturn allocates (${errorCode(allocated)}):\n${log().slice(-2000)}`);
      const response = await client.request(StunMethod.CreatePermission, [attr.peer({ address, port: 5000, family: 4 })], credentials);
      await client.request(StunMethod.Refresh, [attr.lifetime(0)], credentials);
      return response.cls === StunClass.SuccessResponse ? 'ok' : (errorCode(response) ?? -1);
    } finally {
      client.close();
    }
  }

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
});
