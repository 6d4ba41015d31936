/**
 * Structured logs (packages/server/src/logger.ts): JSON lines with the ids an operator follows a
 * call by, a pretty mode, and no secret on any line, checked over a real server's whole session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger, safeUrl, startServer, type RunningServer } from '../src/index.ts';
import { TEST_KEY, TEST_SECRET, TestClient, token } from './helpers.ts';

describe('createLogger', () => {
  test('one JSON object per line, with bound ids, and credentials censored by field name', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line), base: { node: 'nd_test' } });
    logger.child({ conn: 'CN_1' }).child({ room: 'r', participant: 'alice' }).info('joined', { token: 'eyJ.x.y', nested: { secret: 's3cr3t' } });
    logger.error('failed', { error: new Error('boom', { cause: new Error('root cause') }) });
    logger.debug('quiet');
    assert.equal(lines.length, 3);
    const [joined, failed] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      { level: joined!.level, node: joined!.node, conn: joined!.conn, room: joined!.room, participant: joined!.participant, msg: joined!.msg, token: joined!.token, nested: joined!.nested },
      { level: 'info', node: 'nd_test', conn: 'CN_1', room: 'r', participant: 'alice', msg: 'joined', token: '[redacted]', nested: { secret: '[redacted]' } },
    );
    assert.match(String(joined!.time), /^\d{4}-\d\d-\d\dT/);
    const error = failed!.error as { message: string; stack: string; cause?: { message: string } };
    assert.equal(error.message, 'boom: root cause', 'the cause stays with the error');
    assert.match(error.stack, /boom/);
    assert.ok(!lines.join('\n').includes('eyJ.x.y') && !lines.join('\n').includes('s3cr3t'));
  });

  test('levels below the minimum are dropped; pretty mode prints the message and fields on one line', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'pretty', write: (line) => lines.push(line) });
    logger.info('not shown');
    logger.warn('disk almost full', { room: 'r1' });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /WARN.*disk almost full.*room.*r1/);
    assert.throws(() => JSON.parse(lines[0]!));
  });

  test('safeUrl keeps the path and replaces credential-like query values', () => {
    assert.equal(safeUrl('/rtc'), '/rtc');
    assert.equal(safeUrl(undefined), undefined);
    assert.equal(safeUrl('/rtc?token=eyJabc&room=r1'), '/rtc?token=%5Bredacted%5D&room=r1');
    assert.equal(safeUrl('/x?access_token=a&api_key=b&sig=c&page=2'), '/x?access_token=%5Bredacted%5D&api_key=%5Bredacted%5D&sig=%5Bredacted%5D&page=2');
  });
});

describe('a server session, logged at debug level', () => {
  const TURN_SECRET = 'turn-secret-for-the-logging-test-0123456789';
  const METRICS_TOKEN = 'metrics-token-for-the-logging-test';
  const lines: string[] = [];
  const secrets: string[] = [TEST_SECRET, TURN_SECRET, METRICS_TOKEN];
  let server: RunningServer;

  before(async () => {
    server = await startServer(
      {
        port: 0,
        dev: false,
        nodeId: 'nd_logging',
        apiKeys: { [TEST_KEY]: TEST_SECRET },
        reconnectGraceSeconds: 0,
        ice: { turnSecret: TURN_SECRET },
        turn: { port: 0, relayPortMin: 48100, relayPortMax: 48199 },
        metrics: { token: METRICS_TOKEN },
      },
      { logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) },
    );
    // Everything a session does that touches a secret: joins with tokens, TURN credentials handed
    // out and refreshed, a bad token, a bad message, metrics with right and wrong bearer, a leave.
    const aliceToken = await token('logging-room', 'alice');
    const bobToken = await token('logging-room', 'bob');
    secrets.push(aliceToken, bobToken);
    const alice = await TestClient.open(server);
    const joined = await alice.request({ type: 'join', token: aliceToken, id: 'join-alice' });
    assert.equal(joined.type, 'joined');
    const bob = await TestClient.open(server);
    assert.equal((await bob.request({ type: 'join', token: bobToken })).type, 'joined');
    const refreshed = await alice.request({ type: 'refreshIceServers' });
    assert.equal(refreshed.type, 'iceServers');
    for (const { credential } of refreshed.type === 'iceServers' ? refreshed.iceServers : []) if (credential) secrets.push(credential);
    assert.ok(secrets.length > 5, 'TURN credentials were handed out');
    const forged = await token('logging-room', 'mallory', { secret: 'not-the-secret-not-the-secret-not-the' });
    secrets.push(forged);
    const mallory = await TestClient.open(server);
    assert.equal((await mallory.request({ type: 'join', token: forged })).type, 'error');
    alice.sendRaw('{"v":1,"type":"nonsense"');
    await alice.waitFor((m) => m.type === 'error' && !('replyTo' in m), 'the invalid-message error');
    for (const authorization of [`Bearer ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN}x`]) await fetch(`${server.url}/metrics`, { headers: { authorization } });
    await fetch(`${server.url}/api/nothing?token=${aliceToken}`, { headers: { 'x-request-id': 'rq-from-proxy' } });
    bob.close();
    await alice.waitFor((m) => m.type === 'participantLeft', 'bob leaving');
    assert.equal((await alice.request({ type: 'leave' })).type, 'ack');
    await alice.closed;
  });
  after(() => server?.close());

  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const find = (msg: string, participant: string) => entries().find((entry) => entry.msg === msg && entry.participant === participant);

  test('every line is JSON with level, time, message and the node id', () => {
    assert.ok(lines.length >= 6, `${lines.length} lines`);
    for (const entry of entries()) {
      assert.equal(entry.node, 'nd_logging', JSON.stringify(entry));
      assert.ok(typeof entry.msg === 'string' && typeof entry.level === 'string' && typeof entry.time === 'string', JSON.stringify(entry));
    }
  });

  test('a participant’s lines carry its connection, room, participant and request ids', () => {
    const joined = find('participant joined', 'alice');
    assert.ok(joined, 'alice joined is logged');
    assert.equal(joined.room, 'logging-room');
    assert.equal(joined.req, 'join-alice');
    assert.match(String(joined.conn), /^CN_/);
    const left = find('participant left', 'alice');
    assert.ok(left, 'alice left is logged');
    assert.equal(left.conn, joined.conn, 'the same connection id follows the participant');
    assert.equal(left.reason, 'left');
    assert.equal(find('participant left', 'bob')?.reason, 'disconnected');
  });

  test('no line holds a token, the API secret, the TURN secret or credentials, or the metrics token', () => {
    const text = lines.join('\n');
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) was logged`);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no JWT on any line');
  });

  test('HTTP answers carry the request id a proxy gave, or a new one', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'rq-from-proxy' } });
    assert.equal(given.headers.get('x-request-id'), 'rq-from-proxy');
    const made = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'not a plain id; <script>' } });
    assert.match(made.headers.get('x-request-id') ?? '', /^RQ_[0-9a-f]{16}$/);
  });
});
