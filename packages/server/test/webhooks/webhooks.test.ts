/**
 * Webhooks (packages/server/src/webhooks): signatures a receiver can check (and replays it can
 * refuse), delivery in order with retries through a receiver that fails or is down, and the room
 * events a real server sends for a real session.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ConfigError, signWebhook, silentLogger, verifyWebhook, WebhookSender, type RoomEvent, type RunningServer, type WebhookPayload } from '../../src/index.ts';
import { startTestServer, TestClient } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';
import { Receiver } from '../webhook-receiver.ts';

const SECRET = 'webhook-secret-0123456789abcdef-0123';

describe('webhook signatures', () => {
  const body = '{"event":"room_started","room":{"name":"r"}}';
  const now = Date.UTC(2026, 11, 5, 12, 0, 0);

  test('a signature verifies against the exact body and secret, within the tolerance', () => {
    const header = signWebhook(body, SECRET, now);
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.deepEqual(verifyWebhook(body, header, SECRET, { nowMs: now + 299_000 }), { ok: true, timestamp: now / 1000 });
  });

  test('a changed body, another secret, an old timestamp (a replay) or a malformed header are refused', () => {
    const header = signWebhook(body, SECRET, now);
    assert.deepEqual(verifyWebhook(body.replace('r"', 'x"'), header, SECRET, { nowMs: now }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhook(body, header, `${SECRET}x`, { nowMs: now }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhook(body, header, SECRET, { nowMs: now + 301_000 }), { ok: false, reason: 'stale' });
    assert.deepEqual(verifyWebhook(body, header.replace(/^t=\d+/, `t=${now / 1000 + 1}`), SECRET, { nowMs: now }), { ok: false, reason: 'mismatch' }, 'the timestamp is under the MAC');
    for (const bad of [undefined, '', 't=1', 'v1=00', `t=abc,v1=${'0'.repeat(64)}`, `t=${now / 1000},v1=xyz`]) {
      assert.deepEqual(verifyWebhook(body, bad, SECRET, { nowMs: now }), { ok: false, reason: 'malformed' }, String(bad));
    }
  });
});

const event = (name: string): RoomEvent => ({ event: 'room_started', room: { name, topology: 'p2p' } });

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WebhookSender against a real receiver', () => {
  const receiver = new Receiver();
  const senders: WebhookSender[] = [];
  const sender = (options: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}) => {
    const made = new WebhookSender({ urls: [receiver.url], secret: SECRET, nodeId: 'nd_hooks', logger: silentLogger, retryDelayMs: 50, maxRetryDelayMs: 200, ...options });
    senders.push(made);
    return made;
  };
  before(() => receiver.up());
  after(async () => {
    for (const made of senders) await made.close(0);
    await receiver.down();
  });

  test('events arrive in order, each signed, with a unique id, the node and its time', async () => {
    receiver.deliveries.length = 0;
    const hooks = sender();
    for (let i = 0; i < 20; i++) hooks.send(event(`room-${i}`));
    assert.equal(await hooks.drained(5000), true);
    assert.deepEqual(receiver.deliveries.map((d) => d.payload.room.name), Array.from({ length: 20 }, (_, i) => `room-${i}`));
    for (const { headers, body, payload } of receiver.deliveries) {
      assert.equal(verifyWebhook(body, headers['parley-signature'] as string, SECRET).ok, true);
      assert.equal(headers['parley-webhook-id'], payload.id);
      assert.equal(headers['content-type'], 'application/json');
      assert.equal(payload.node, 'nd_hooks');
      assert.ok(Math.abs(Date.now() - payload.createdAt) < 5000);
    }
    assert.equal(new Set(receiver.deliveries.map((d) => d.payload.id)).size, 20);
    assert.deepEqual(hooks.stats(), { delivered: 20, failedAttempts: 0, dropped: 0, queued: 0 });
  });

  test('an error answer is retried with backoff, and what came after waits its turn', async () => {
    receiver.deliveries.length = 0;
    receiver.statuses.push(500, 503);
    const hooks = sender();
    hooks.send(event('first'));
    hooks.send(event('second'));
    assert.equal(await hooks.drained(5000), true);
    assert.deepEqual(receiver.deliveries.map((d) => d.payload.room.name), ['first', 'second']);
    assert.deepEqual(hooks.stats(), { delivered: 2, failedAttempts: 2, dropped: 0, queued: 0 });
  });

  test('a receiver down, then up: every event arrives once, in order, freshly signed', async (t) => {
    receiver.deliveries.length = 0;
    await receiver.down();
    const hooks = sender();
    for (const name of ['a', 'b', 'c']) hooks.send(event(name));
    await until(() => hooks.stats().failedAttempts >= 3, 'three failed attempts while the receiver is down');
    assert.equal(hooks.stats().queued, 3, 'nothing is lost while the receiver is down');
    const upAt = Date.now();
    await receiver.up();
    assert.equal(await hooks.drained(5000), true);
    assert.deepEqual(receiver.deliveries.map((d) => d.payload.room.name), ['a', 'b', 'c']);
    for (const { headers, body } of receiver.deliveries) assert.equal(verifyWebhook(body, headers['parley-signature'] as string, SECRET, { toleranceSeconds: 5 }).ok, true);
    const recoveryMs = receiver.deliveries[0]!.at - upAt;
    assert.ok(recoveryMs <= 2000, `delivered ${recoveryMs} ms after the receiver came back (retry delay capped at 200 ms)`);
    t.diagnostic(`receiver back up: first event delivered after ${recoveryMs} ms`);
  });

  test('an event retried past its age is dropped and counted; the queue is bounded', async () => {
    receiver.deliveries.length = 0;
    receiver.statuses.push(500, 500, 500, 500, 500, 500, 500, 500);
    const aging = sender({ maxAgeMs: 150 });
    aging.send(event('too-old'));
    await until(() => aging.stats().dropped === 1, 'the event to be dropped');
    receiver.statuses.length = 0;
    aging.send(event('fresh'));
    assert.equal(await aging.drained(5000), true);
    assert.deepEqual(receiver.deliveries.map((d) => d.payload.room.name), ['fresh']);

    await receiver.down();
    const bounded = sender({ maxQueue: 2 });
    for (const name of ['1', '2', '3', '4', '5']) bounded.send(event(name));
    assert.deepEqual({ dropped: bounded.stats().dropped, queued: bounded.stats().queued }, { dropped: 3, queued: 2 });
    receiver.deliveries.length = 0;
    await receiver.up();
    assert.equal(await bounded.drained(5000), true);
    assert.deepEqual(receiver.deliveries.map((d) => d.payload.room.name), ['4', '5'], 'the newest are kept');
  });
});

describe('a server with webhooks configured', () => {
  const receiver = new Receiver();
  let server: RunningServer;
  before(async () => {
    await receiver.up();
    server = await startTestServer({ rooms: { topology: 'sfu' }, sfu: { workers: 1 }, webhooks: { urls: [receiver.url], secret: SECRET } });
  });
  after(async () => {
    await server?.close();
    await receiver.down();
  });

  test('configuration: URLs need a secret, and only http(s)', async () => {
    await assert.rejects(startTestServer({ webhooks: { urls: ['http://127.0.0.1:1/x'] } }), (error: Error) => error instanceof ConfigError && /PARLEY_WEBHOOK_SECRET/.test(error.message));
    await assert.rejects(startTestServer({ webhooks: { urls: ['file:///etc/passwd'], secret: SECRET } }), ConfigError);
    await assert.rejects(startTestServer({ webhooks: { urls: ['http://127.0.0.1:1/x'], secret: 'short' } }), /at least 32 characters/);
  });

  test('a session’s events arrive in the order they happened, tracks ending before their publisher leaves', async () => {
    const alice = await TestClient.joined(server, 'hooked', 'alice');
    const bob = await TestClient.joined(server, 'hooked', 'bob');
    const sdp = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
    const published = await bob.request({ type: 'publishTrack', source: 'microphone', sdp });
    assert.equal(published.type, 'trackPublished', JSON.stringify(published));
    bob.close();
    await alice.waitFor((m) => m.type === 'participantLeft', 'bob leaving');
    const lossyReport = { intervalMs: 10_000, rttMs: 60, send: { lossRatio: 0, bitrateKbps: 800, limitation: 'none' }, receive: { lossRatio: 0.08, bitrateKbps: 900, jitterMs: 20, framesDecoded: 250, framesDropped: 3, freezes: 2, frozenMs: 700 } };
    assert.equal((await alice.request({ type: 'qualityReport', report: lossyReport })).type, 'ack');
    assert.equal((await alice.request({ type: 'leave' })).type, 'ack');
    await until(() => receiver.deliveries.length >= 8, 'eight events');
    assert.deepEqual(receiver.events(), [
      'room_started',
      'participant_joined alice',
      'participant_joined bob',
      'track_published bob microphone',
      'track_unpublished bob microphone',
      'participant_left bob',
      'participant_left alice',
      'room_finished',
    ]);
    const [started, , , trackPublished, , bobLeft] = receiver.deliveries.map((d) => d.payload);
    assert.deepEqual(started!.room, { name: 'hooked', topology: 'sfu' });
    assert.ok(trackPublished!.event === 'track_published' && trackPublished!.track.id === (published.type === 'trackPublished' ? published.trackId : '') && trackPublished!.track.codec === 'opus');
    assert.ok(bobLeft!.event === 'participant_left' && bobLeft!.reason === 'disconnected' && bobLeft!.quality === undefined, 'no reports, no quality');
    const aliceLeft = receiver.deliveries[6]!.payload;
    assert.ok(aliceLeft.event === 'participant_left' && aliceLeft.quality, 'alice reported her call');
    assert.deepEqual([aliceLeft.quality.rating, aliceLeft.quality.issues, aliceLeft.quality.receive.freezes], ['fair', ['downlink_loss', 'freezes'], 2]);
    const finished = receiver.deliveries[7]!.payload;
    assert.ok(finished.event === 'room_finished');
    assert.deepEqual(finished.quality.participants, [{ identity: 'alice', rating: 'fair', issues: ['downlink_loss', 'freezes'], networkAtFault: true }]);
    for (const { headers, body, payload } of receiver.deliveries) {
      assert.equal(verifyWebhook(body, headers['parley-signature'] as string, SECRET).ok, true);
      assert.equal(payload.node, server.config.nodeId);
    }
    const metrics = await scrape(server.url);
    assert.equal(sample(metrics.text, 'parley_webhook_deliveries_total{result="delivered"}'), 8);
    assert.equal(sample(metrics.text, 'parley_webhook_deliveries_total{result="dropped"}'), 0);
    assert.equal(sample(metrics.text, 'parley_webhook_queued_events'), 0);
  });
});
