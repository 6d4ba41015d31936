import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from '@parley/protocol';
import { TestClient, startTestServer, token } from '../helpers.ts';

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const validMessages = [
  { v: PROTOCOL_VERSION, id: 'a', type: 'join', token: 'x', room: 'r' },
  { v: PROTOCOL_VERSION, id: 'b', type: 'signal', to: 'bob', payload: { description: { type: 'offer', sdp: 'v=0\r\n' }, trackSources: { '0': 'camera' } } },
  { v: PROTOCOL_VERSION, id: 'c', type: 'signal', to: 'bob', payload: { candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } } },
  { v: PROTOCOL_VERSION, id: 'd', type: 'setTrackMuted', source: 'camera', muted: true },
  { v: PROTOCOL_VERSION, id: 'e', type: 'sendData', payload: 'hello', to: ['bob'], topic: 't' },
  { v: PROTOCOL_VERSION, id: 'f', type: 'removeParticipant', identity: 'bob' },
];
// JSON.parse makes `__proto__` an own key, so JSON.stringify really sends it (an object literal would not).
const pollution = [JSON.parse('{"__proto__":{"polluted":true}}'), JSON.parse('{"constructor":{"prototype":{"polluted":true}}}')] as unknown[];
const weirdValues: unknown[] = [null, true, 0, -1, 1e308, '', 'x'.repeat(300), [], {}, [[[]]], ...pollution, '\u0000', 'constructor', NaN];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  if (random() < 0.15 || depth > 4) return weirdValues[Math.floor(random() * weirdValues.length)];
  if (Array.isArray(value)) return value.map((item) => mutate(item, random, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (random() < 0.1) continue;
      out[random() < 0.05 ? `${key}_` : key] = random() < 0.5 ? mutate(item, random, depth + 1) : item;
    }
    if (random() < 0.1) out.extra = weirdValues[Math.floor(random() * weirdValues.length)];
    return out;
  }
  return value;
}

describe('resilience', () => {
  test('fuzzed frames (mutated messages, truncated JSON, random bytes) get errors; the server, the sender and other rooms carry on', async () => {
    const server = await startTestServer({ limits: { messagesPerSecond: 100_000, messageBurst: 100_000 } });
    try {
      const bystanderA = await TestClient.joined(server, 'calm', 'alice');
      const bystanderB = await TestClient.joined(server, 'calm', 'bob');
      const fuzzer = await TestClient.joined(server, 'fuzz', 'mallory');
      const random = prng(20261127);
      const frames = 3000;
      for (let i = 0; i < frames; i += 1) {
        const base = validMessages[i % validMessages.length]!;
        const text = JSON.stringify({ ...(mutate(base, random) as object), id: `fz${i}` });
        const choice = random();
        if (choice < 0.1) fuzzer.sendRaw(text.slice(0, Math.floor(random() * text.length)));
        else if (choice < 0.15) fuzzer.sendRaw(Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))));
        else fuzzer.sendRaw(text);
      }
      for (const vector of pollution) fuzzer.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id: `pp${JSON.stringify(vector).length}`, type: 'sendData', payload: 'x', ...(vector as object) }));
      // The ping's answer queues behind the answers to 3000 frames: on two cores busy with other
      // suites that took over 3 s once. What matters is that it comes, not how fast.
      assert.equal((await fuzzer.request({ type: 'ping' }, 20_000)).type, 'pong', 'the fuzzing connection is still served');
      assert.ok(!fuzzer.of('error').some((e) => e.code === ErrorCode.INTERNAL), 'no frame hit an internal error');
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
      assert.equal((await bystanderA.request({ type: 'ping' })).type, 'pong');
      assert.deepEqual(bystanderB.received.filter((m) => m.type === 'signal' || m.type === 'data'), [], 'nothing leaked into the other room');
      assert.equal(server.rooms.get('calm')?.size, 2);
      console.log(`fuzz: ${frames} frames, ${fuzzer.of('error').length} errors, ${fuzzer.of('ack').length} accepted`);
      for (const c of [bystanderA, bystanderB, fuzzer]) c.close();
    } finally {
      await server.close();
    }
  });

  test('a peer that stops answering pings is dropped after two heartbeats and the others see it leave', async () => {
    const server = await startTestServer({ heartbeatSeconds: 1 });
    try {
      const alice = await TestClient.joined(server, 'hb', 'alice');
      const bob = await TestClient.joined(server, 'hb', 'bob');
      bob.freeze();
      const left = await alice.waitFor((m) => m.type === 'participantLeft', 'bob dropped', 5000);
      assert.deepEqual(left.type === 'participantLeft' && [left.identity, left.reason], ['bob', 'disconnected']);
      assert.equal((await alice.request({ type: 'ping' })).type, 'pong', 'live peers are kept');
      alice.close();
      bob.ws.terminate();
    } finally {
      await server.close();
    }
  });

  test('shutting down tells every client (SERVER_SHUTDOWN, close 1001)', async () => {
    const server = await startTestServer();
    const alice = await TestClient.joined(server, 'bye', 'alice');
    await server.close();
    const error = await alice.waitFor((m) => m.type === 'error', 'shutdown notice');
    assert.equal(error.type === 'error' && error.code, ErrorCode.SERVER_SHUTDOWN);
    assert.equal((await alice.closed).code, CloseCode.GOING_AWAY);
  });

  test('rooms.maxParticipants caps a room; the refused participant changes nothing', async () => {
    const server = await startTestServer({ rooms: { maxParticipants: 1 } });
    try {
      const alice = await TestClient.joined(server, 'solo', 'alice');
      const bob = await TestClient.open(server);
      const reply = await bob.request({ type: 'join', token: await token('solo', 'bob') });
      assert.equal(reply.type === 'error' && reply.code, ErrorCode.ROOM_FULL);
      assert.match(reply.type === 'error' ? reply.message : '', /full \(1 participants\)/);
      await alice.request({ type: 'ping' });
      assert.equal(alice.of('participantJoined').length, 0);
      alice.close();
    } finally {
      await server.close();
    }
  });

  test('joined carries STUN and TURN servers with REST credentials when configured', async () => {
    const server = await startTestServer({ ice: { stunUrls: ['stun:127.0.0.1:3478'], turnUrls: ['turn:127.0.0.1:3478?transport=udp'], turnSecret: 'turn-secret-for-tests', turnCredentialTtlSeconds: 600 } });
    try {
      const client = await TestClient.open(server);
      const reply = await client.request({ type: 'join', token: await token('ice', 'alice') });
      assert.equal(reply.type, 'joined');
      if (reply.type !== 'joined') return;
      assert.deepEqual(reply.iceServers[0], { urls: ['stun:127.0.0.1:3478'] });
      const turn = reply.iceServers[1]!;
      const [expiry, identity] = (turn.username ?? '').split(':');
      assert.equal(identity, 'alice');
      assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 600)) < 5);
      assert.match(turn.credential ?? '', /^[A-Za-z0-9+/]{27}=$/, 'base64 of a 20-byte HMAC-SHA1');
      client.close();
    } finally {
      await server.close();
    }
  });

  test('serves HTTPS from certificate and key files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-tls-'));
    try {
      const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256' });
      await writeFile(join(dir, 'cert.pem'), pems.cert);
      await writeFile(join(dir, 'key.pem'), pems.private);
      const server = await startTestServer({ tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } });
      try {
        assert.match(server.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
        const hsts = await new Promise<string | undefined>((resolve, reject) => {
          httpsGet(`${server.url}/healthz`, { rejectUnauthorized: false }, (response) => {
            response.resume();
            resolve(response.headers['strict-transport-security']);
          }).on('error', reject);
        });
        assert.equal(hsts, 'max-age=31536000');
        const client = await TestClient.open(server);
        assert.equal((await client.request({ type: 'ping' })).type, 'pong');
        client.close();
      } finally {
        await server.close();
      }
      await assert.rejects(startTestServer({ tls: { certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'key.pem') } }), /cannot read TLS certificate/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the dev token endpoint is rate limited per IP', async () => {
    const { silentLogger, startServer } = await import('../../src/index.ts');
    const server = await startServer({ port: 0, limits: { devTokensPerIpPerMinute: 1 }, turn: { enabled: false } }, { logger: silentLogger });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i += 1) {
        const response = await fetch(`${server.url}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: 'r', identity: `u${i}` }) });
        statuses.push(response.status);
      }
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(200), 'the burst is served');
      assert.deepEqual(statuses.slice(20), [429, 429]);
    } finally {
      await server.close();
    }
  });
});
