import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from '@parley/protocol';
import type { RunningServer } from '../../src/index.ts';
import { TestClient, startTestServer } from '../helpers.ts';

describe('per-connection limits', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ limits: { maxMessageBytes: 4096, messagesPerSecond: 5, messageBurst: 10, floodStrikes: 5 } });
  });
  after(() => server.close());

  test('an oversize frame gets MESSAGE_TOO_LARGE and a 1009 close; other rooms carry on', async () => {
    const bystander = await TestClient.joined(server, 'calm-room', 'bystander');
    const big = await TestClient.joined(server, 'big-room', 'big');
    big.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id: 'x', type: 'sendData', payload: 'x'.repeat(5000) }));
    const error = await big.waitFor((m) => m.type === 'error', 'error');
    assert.equal(error.type === 'error' && error.code, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal((await big.closed).code, CloseCode.MESSAGE_TOO_BIG);
    assert.equal((await bystander.request({ type: 'ping' })).type, 'pong');
    bystander.close();
  });

  test('a flood is refused with RATE_LIMITED, then closed with 1008; another connection is unaffected', async () => {
    const bystander = await TestClient.joined(server, 'calm-room-2', 'bystander');
    const flooder = await TestClient.joined(server, 'flood-room', 'flooder');
    for (let i = 0; i < 100; i += 1) flooder.send({ type: 'ping' });
    const { code } = await flooder.closed;
    assert.equal(code, CloseCode.POLICY_VIOLATION);
    const errors = flooder.of('error');
    assert.ok(errors.some((e) => e.code === ErrorCode.RATE_LIMITED && !e.fatal), 'dropped messages are reported first');
    assert.ok(errors.some((e) => e.code === ErrorCode.RATE_LIMITED && e.fatal), 'the close is announced');
    assert.ok(flooder.of('pong').length <= 11, `at most the burst was served, got ${flooder.of('pong').length}`);
    assert.equal((await bystander.request({ type: 'ping' })).type, 'pong');
    assert.equal(server.rooms.get('flood-room'), undefined, 'the flooder left its room');
    bystander.close();
  });
});

describe('per-IP limits', () => {
  test('concurrent connections per IP are capped with RATE_LIMITED and 1008; a closed one frees its slot', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerIp: 2 } });
    try {
      const first = await TestClient.open(server);
      const second = await TestClient.open(server);
      const third = await TestClient.open(server);
      const refusal = await third.waitFor((m) => m.type === 'error', 'refusal');
      assert.equal(refusal.type === 'error' && refusal.code, ErrorCode.RATE_LIMITED);
      assert.equal((await third.closed).code, CloseCode.POLICY_VIOLATION);
      first.close();
      await first.closed;
      await waitUntil(async () => {
        const next = await TestClient.open(server);
        const pong = await next.request({ type: 'ping' }).catch(() => undefined);
        next.close();
        await next.closed;
        return pong?.type === 'pong';
      }, 'a freed slot');
      assert.equal((await second.request({ type: 'ping' })).type, 'pong');
      second.close();
    } finally {
      await server.close();
    }
  });

  test('the connection rate per IP is limited', async () => {
    const server = await startTestServer({ limits: { connectionBurstPerIp: 3, connectionsPerIpPerMinute: 1 } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const client = await TestClient.open(server);
        client.send({ type: 'ping' });
        const reply = await client.waitFor((m) => m.type === 'pong' || m.type === 'error', 'pong or refusal');
        codes.push(reply.type === 'pong' ? 0 : (await client.closed).code);
        client.close();
      }
      assert.deepEqual(codes, [0, 0, 0, CloseCode.POLICY_VIOLATION, CloseCode.POLICY_VIOLATION]);
    } finally {
      await server.close();
    }
  });
});

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}
