import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { iceServersFor, turnCredentials } from '../../src/index.ts';

describe('TURN REST credentials', () => {
  test('match coturn use-auth-secret: username expiry:identity, password base64(HMAC-SHA1(secret, username))', () => {
    // Expected value computed independently with Python's hmac module.
    const credentials = turnCredentials('north-sea-turn-secret', 'alice', 3600, (1700000000 - 3600) * 1000);
    assert.deepEqual(credentials, { username: '1700000000:alice', credential: '2KgXCQrTfE6ITZuk5ysE+Bf/eUc=' });
  });

  test('the ICE server list has STUN as configured and TURN with fresh credentials', () => {
    const servers = iceServersFor('bob', { stunUrls: ['stun:stun.example.org:3478'], turnUrls: ['turn:turn.example.org:3478?transport=udp'], turnSecret: 'a-turn-secret-of-some-length', turnCredentialTtlSeconds: 600 }, 1_000_000);
    assert.deepEqual(servers[0], { urls: ['stun:stun.example.org:3478'] });
    assert.equal(servers[1]?.username, '1600:bob');
    assert.equal(typeof servers[1]?.credential, 'string');
    assert.deepEqual(iceServersFor('bob', { stunUrls: [], turnUrls: [], turnCredentialTtlSeconds: 600 }), []);
  });
});
