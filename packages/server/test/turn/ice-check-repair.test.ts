/**
 * ICE checks with a zero tie-breaker (what Chromium sends over TURN/TCP and TURN/TLS) relayed to
 * the host's SFU: set to 1 and signed again with the SFU's ICE password, only when the original
 * signature is the SFU's; everything else untouched. Unit level, then through the TURN server
 * over TCP to a UDP socket standing for the SFU's media port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import { rememberIceCredentials, sfuIcePassword } from '../../src/sfu/ice-credentials.ts';
import { repairZeroTiebreaker } from '../../src/turn/ice-check-repair.ts';
import { checkIntegrity, fingerprintMatches, seal } from '../../src/turn/integrity.ts';
import { Attr as StunAttr, decodeStun, StunClass, StunMethod as Method, StunWriter } from '../../src/turn/stun-message.ts';
import { TurnServer } from '../../src/turn/turn-server.ts';
import { hostIpv4 } from '../helpers.ts';
import { attr, errorCode, restCredentials, SECRET, StunMethod, TurnTestClient, turnOptions } from './turn-client.ts';

const ICE_CONTROLLED = 0x8029;
const ICE_CONTROLLING = 0x802a;
const USE_CANDIDATE = 0x0025;
const PRIORITY = 0x0024;
const SFU_UFRAG = 'sfuU';
const SFU_PWD = 'the-sfu-ice-password-0123456789';

/** A connectivity check as Chromium writes it: USERNAME, role with tie-breaker, USE-CANDIDATE, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT. */
function check(options: { tiebreaker: bigint; role?: number; password?: string; ufrag?: string; trailing?: boolean }): Buffer {
  const writer = new StunWriter(Method.Binding, StunClass.Request, randomBytes(12))
    .text(StunAttr.Username, `${options.ufrag ?? SFU_UFRAG}:brws`)
    .attribute(options.role ?? ICE_CONTROLLING, 8, (target, at) => target.writeBigUInt64BE(options.tiebreaker, at))
    .attribute(USE_CANDIDATE, 0, () => {})
    .uint32(PRIORITY, 1853759743);
  const signed = Buffer.from(seal(writer, Buffer.from(options.password ?? SFU_PWD)));
  if (!options.trailing) return signed;
  // An attribute after FINGERPRINT: not covered by the signature.
  const extra = Buffer.alloc(8);
  extra.writeUInt16BE(0x8030, 0);
  extra.writeUInt16BE(4, 2);
  const out = Buffer.concat([signed, extra]);
  out.writeUInt16BE(out.length - 20, 2);
  return out;
}

const lookup = (ufrag: string) => (ufrag === SFU_UFRAG ? SFU_PWD : undefined);

function tiebreakerOf(message: Buffer, role = ICE_CONTROLLING): bigint | undefined {
  return decodeStun(message)?.value(role)?.readBigUInt64BE(0);
}

describe('repairZeroTiebreaker', () => {
  test('a zero ICE-CONTROLLING tie-breaker becomes 1, signed again with the SFU password (integrity and fingerprint valid), nothing else changed', () => {
    const original = check({ tiebreaker: 0n });
    const repaired = repairZeroTiebreaker(original, lookup);
    assert.notEqual(repaired, original);
    assert.equal(tiebreakerOf(repaired), 1n);
    const decoded = decodeStun(repaired)!;
    assert.deepEqual(checkIntegrity(decoded, Buffer.from(SFU_PWD)), { algorithm: 'sha1', valid: true });
    assert.ok(fingerprintMatches(decoded));
    assert.equal(repaired.length, original.length);
    const tiebreakerAt = original.indexOf(Buffer.from([0x80, 0x2a, 0, 8])) + 4;
    const integrityAt = decoded.integrityAt;
    const differing = [...repaired.keys()].filter((i) => repaired[i] !== original[i]);
    const mayDiffer = (i: number) => (i >= tiebreakerAt && i < tiebreakerAt + 8) || (i >= integrityAt + 4 && i < integrityAt + 24) || i >= repaired.length - 4;
    assert.deepEqual(differing.filter((i) => !mayDiffer(i)), [], 'only the tie-breaker, the MAC and the fingerprint change');
    assert.equal(original.readBigUInt64BE(tiebreakerAt), 0n, 'the original buffer is not modified');
  });

  test('a zero ICE-CONTROLLED tie-breaker is repaired the same way', () => {
    const repaired = repairZeroTiebreaker(check({ tiebreaker: 0n, role: ICE_CONTROLLED }), lookup);
    assert.equal(tiebreakerOf(repaired, ICE_CONTROLLED), 1n);
    assert.equal(checkIntegrity(decodeStun(repaired)!, Buffer.from(SFU_PWD))?.valid, true);
  });

  test('left alone: a non-zero tie-breaker, an unknown ufrag, a signature by another key, an attribute after the signature, and what is not a Binding request', () => {
    const cases: Array<[string, Buffer]> = [
      ['non-zero tie-breaker', check({ tiebreaker: 0x1234n })],
      ['unknown ufrag', check({ tiebreaker: 0n, ufrag: 'nope' })],
      ['signed with another key', check({ tiebreaker: 0n, password: 'someone-elses-password-0123456' })],
      ['attribute after FINGERPRINT', check({ tiebreaker: 0n, trailing: true })],
      ['DTLS record', Buffer.from('16fefd000000000000000000010001', 'hex')],
      ['RTP packet', Buffer.concat([Buffer.from([0x80, 0x60, 0, 1]), randomBytes(100)])],
      ['truncated check', check({ tiebreaker: 0n }).subarray(0, 40)],
    ];
    for (const [label, data] of cases) assert.equal(repairZeroTiebreaker(data, lookup), data, label);
  });
});

describe('the SFU ICE credentials the server hands out', () => {
  test('remembered from SDP by ufrag', () => {
    rememberIceCredentials('v=0\r\na=ice-ufrag:aB1c\r\na=ice-pwd:pwd-of-aB1c-0123456789\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n');
    assert.equal(sfuIcePassword('aB1c'), 'pwd-of-aB1c-0123456789');
    assert.equal(sfuIcePassword('other'), undefined);
  });
});

describe('TURN over TCP toward the host\'s SFU', () => {
  test('a zero tie-breaker check reaches the SFU port repaired; other data passes as sent', async () => {
    const own = hostIpv4();
    const sfu = createSocket('udp4');
    const received: Buffer[] = [];
    sfu.on('message', (data) => received.push(data));
    await new Promise<void>((resolve) => sfu.bind(0, own, resolve));
    const sfuPort = sfu.address().port;
    const server = await TurnServer.start(turnOptions({ allowedPeers: [], mediaPorts: [{ min: sfuPort, max: sfuPort }], sfuIcePassword: lookup }));
    const client = await TurnTestClient.stream('tcp', '127.0.0.1', server.addresses.tcp);
    try {
      const credentials = restCredentials(SECRET, 'walled');
      assert.equal(errorCode(await client.authenticated(StunMethod.Allocate, [attr.transport()], credentials)), undefined);
      const peer = { address: own, port: sfuPort, family: 4 as const };
      assert.equal(errorCode(await client.request(StunMethod.CreatePermission, [attr.peer(peer)], credentials)), undefined);
      const zero = check({ tiebreaker: 0n });
      const dtls = Buffer.from('16fefd000000000000000000010001', 'hex');
      client.indication(StunMethod.Send, [attr.peer(peer), attr.data(zero)]);
      client.indication(StunMethod.Send, [attr.peer(peer), attr.data(dtls)]);
      await client.until(() => received.length >= 2, 'both datagrams at the SFU port');
      const [first, second] = received as [Buffer, Buffer];
      assert.equal(tiebreakerOf(first), 1n, 'the check arrives with tie-breaker 1');
      assert.equal(checkIntegrity(decodeStun(first)!, Buffer.from(SFU_PWD))?.valid, true, 'signed with the SFU password');
      assert.deepEqual(second, dtls, 'other data passes as sent');
    } finally {
      client.close();
      sfu.close();
      await server.close();
    }
  });
});
