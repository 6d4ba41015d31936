import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createToken, defaultGrants, mergeConfig, parseDuration, type ServerConfigInput, resolveConfig, turnCredentials, verifyToken, iceServersFor, ConfigError } from '../src/index.ts';
import { IpLimiter } from '../src/limits/ip-limiter.ts';
import { TokenBucket } from '../src/limits/token-bucket.ts';
import { sdpSendsMedia } from '../src/signaling/sdp-policy.ts';
import { RecentIds } from '../src/signaling/recent-ids.ts';
import { isLoopbackHost } from '../src/config/hosts.ts';
import { Participant } from '../src/rooms/participant.ts';
import { TEST_KEY, TEST_SECRET } from './helpers.ts';

describe('TokenBucket', () => {
  test('allows the burst, then refills at the configured rate', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    now = 499;
    assert.equal(bucket.take(), false);
    now = 500;
    assert.equal(bucket.take(), true);
    now = 10_000;
    assert.equal(bucket.isFull(), true);
  });
});

describe('IpLimiter', () => {
  test('caps concurrent leases and the rate per IP, independently per IP', () => {
    let now = 0;
    const limiter = new IpLimiter({ perMinute: 60, burst: 3, maxConcurrent: 2 }, () => now);
    const a1 = limiter.admit('a');
    const a2 = limiter.admit('a');
    assert.deepEqual(limiter.admit('a'), { ok: false, reason: 'concurrency' });
    assert.equal(limiter.admit('b').ok, true);
    if (a1.ok) a1.release();
    if (a1.ok) a1.release(); // idempotent
    assert.equal(limiter.admit('a').ok, true);
    if (a2.ok) a2.release();
    assert.deepEqual(limiter.admit('a'), { ok: false, reason: 'rate' });
    now = 1000;
    assert.equal(limiter.admit('a').ok, true);
  });

  test('sweep forgets idle IPs whose bucket refilled', () => {
    let now = 0;
    const limiter = new IpLimiter({ perMinute: 60, burst: 1, maxConcurrent: 5 }, () => now);
    const lease = limiter.admit('a');
    if (lease.ok) lease.release();
    limiter.sweep();
    assert.equal(limiter.trackedIps, 1);
    now = 2000;
    limiter.sweep();
    assert.equal(limiter.trackedIps, 0);
  });
});

describe('RecentIds', () => {
  test('refuses a replay and forgets the oldest beyond capacity', () => {
    const ids = new RecentIds(2);
    assert.deepEqual([ids.add('a'), ids.add('a'), ids.add('b'), ids.add('c'), ids.add('a')], [true, false, true, true, true]);
  });
});

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

describe('sdpSendsMedia', () => {
  const sdp = (...sections: string[]) => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...sections].join('\r\n') + '\r\n';
  test('sendrecv/sendonly audio or video sends; recvonly, inactive, rejected and data channels do not', () => {
    assert.equal(sdpSendsMedia(sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=sendonly')), true);
    assert.equal(sdpSendsMedia(sdp('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0')), true, 'no direction means sendrecv');
    assert.equal(sdpSendsMedia(sdp('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=recvonly', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=inactive')), false);
    assert.equal(sdpSendsMedia(sdp('m=video 0 UDP/TLS/RTP/SAVPF 96', 'a=sendrecv')), false);
    assert.equal(sdpSendsMedia(sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel')), false);
  });
});

describe('configuration', () => {
  const key = { k: TEST_SECRET };
  test('plain HTTP off loopback is refused unless TLS or a TLS proxy is stated', () => {
    assert.throws(() => resolveConfig({ host: '0.0.0.0', apiKeys: key }), (e: unknown) => e instanceof ConfigError && /refusing to serve plain HTTP on 0\.0\.0\.0/.test(e.message));
    assert.equal(resolveConfig({ host: '0.0.0.0', apiKeys: key, behindTlsProxy: true }).host, '0.0.0.0');
    assert.equal(resolveConfig({ host: '192.0.2.2', apiKeys: key, tls: { selfSigned: true } }).tls.selfSigned, true);
  });

  test('dev mode is on by default only on loopback without keys; production needs a key', () => {
    assert.equal(resolveConfig({}).devMode, true);
    assert.equal(resolveConfig({ apiKeys: key }).devMode, false);
    assert.throws(() => resolveConfig({ host: '0.0.0.0', behindTlsProxy: true }), /no API key configured/);
    assert.equal(resolveConfig({ apiKeys: key }).apiKeys.devkey, undefined, 'the dev key is not valid outside dev mode');
  });

  test('invalid values are refused with the field named', () => {
    assert.throws(() => resolveConfig({ port: 70000 }), /port/);
    assert.throws(() => resolveConfig({ apiKeys: { k: 'short' } }), /32 characters/);
    assert.throws(() => resolveConfig({ tls: { certFile: 'a.pem' } }), /go together/);
    assert.throws(() => resolveConfig({ ice: { turnUrls: ['turn:x'] } }), /turnSecret/);
    assert.throws(() => resolveConfig({ bogus: 1 } as never), /bogus|Unrecognized/);
  });

  test('a __proto__ key in a config file is refused, not merged into the prototype', () => {
    const fromFile = JSON.parse('{"__proto__": {"dev": true, "host": "0.0.0.0"}}') as ServerConfigInput;
    assert.throws(() => resolveConfig(mergeConfig(fromFile, { apiKeys: key })), /Unrecognized key|__proto__/);
    assert.deepEqual(mergeConfig({ rooms: { maxParticipants: 4 } }, { rooms: { maxParticipants: 8 } }, { port: 1 }), { rooms: { maxParticipants: 8 }, port: 1 });
  });

  test('loopback detection', () => {
    assert.deepEqual(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '0.0.0.0', '192.0.2.2', '::', 'example.com'].map(isLoopbackHost), [true, true, true, true, true, false, false, false, false]);
  });
});

describe('participant aggregates', () => {
  test('time in each reported connection quality, the current one counted up to now; repeats change nothing', () => {
    const participant = new Participant('p', 'P', defaultGrants, { send: () => undefined, terminate: () => undefined });
    assert.equal(participant.reportConnectionQuality('excellent', 0), true);
    assert.equal(participant.reportConnectionQuality('excellent', 5_000), false);
    assert.equal(participant.reportConnectionQuality('poor', 10_000), true);
    const aggregates = participant.aggregates(13_000);
    assert.deepEqual(aggregates.secondsByQuality, { excellent: 10, good: 0, poor: 3, lost: 0 });
    assert.equal(aggregates.connectionQuality, 'poor');
    assert.equal(aggregates.qualityChanges, 2);
  });
});
