import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createToken, defaultGrants, parseDuration, verifyToken } from '../../src/index.ts';
import { TEST_KEY, TEST_SECRET } from '../helpers.ts';

describe('tokens', () => {
  const keys = { [TEST_KEY]: TEST_SECRET };

  test('a token verifies and carries identity, room, name and grants', async () => {
    const jwt = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room: 'demo', identity: 'alice', name: 'Alice', ttlSeconds: 60, grants: { roomAdmin: true } });
    const check = await verifyToken(jwt, keys);
    assert.equal(check.ok, true);
    if (!check.ok) return;
    assert.equal(check.claims.sub, 'alice');
    assert.equal(check.claims.room, 'demo');
    assert.equal(check.claims.name, 'Alice');
    assert.deepEqual(check.claims.grants, { canPublish: true, canSubscribe: true, canPublishData: true, roomAdmin: true, canRecord: false });
  });

  test('missing, expired, forged, unknown-key and malformed tokens are refused with their own code', async () => {
    const expired = await new SignJWT({ room: 'demo', grants: defaultGrants })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(TEST_KEY)
      .setSubject('a')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 5)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const forged = await createToken({ apiKey: TEST_KEY, apiSecret: 'another-secret-of-at-least-32-characters', room: 'demo', identity: 'a', ttlSeconds: 60 });
    const unknownKey = await createToken({ apiKey: 'other', apiSecret: TEST_SECRET, room: 'demo', identity: 'a', ttlSeconds: 60 });
    const [header, payload] = forged.split('.');
    const noneAlg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    const results = await Promise.all([undefined, '', expired, forged, unknownKey, 'not.a.jwt', noneAlg, `${header}.${payload}`].map((t) => verifyToken(t, keys)));
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.code)),
      ['TOKEN_MISSING', 'TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID'],
    );
  });

  test('createToken refuses invalid room and identity', async () => {
    await assert.rejects(createToken({ apiKey: 'k', apiSecret: TEST_SECRET, room: 'no spaces', identity: 'a', ttlSeconds: 60 }), /invalid room/);
    await assert.rejects(createToken({ apiKey: 'k', apiSecret: TEST_SECRET, room: 'r', identity: '', ttlSeconds: 60 }), /invalid identity/);
  });

  test('parseDuration', () => {
    assert.deepEqual(['30s', '10m', '1h', '2d', '45'].map(parseDuration), [30, 600, 3600, 172800, 45]);
    for (const bad of ['', '10x', '-5s', '0', 'h']) assert.throws(() => parseDuration(bad), RangeError, bad);
  });
});
