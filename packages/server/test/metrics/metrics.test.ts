/**
 * GET /metrics (packages/server/src/metrics): who may read it, that it is valid Prometheus
 * exposition (`promtool check metrics`), and that its figures move as signaling does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '@parley/protocol';
import type { RunningServer } from '../../src/index.ts';
import { metricsAccess } from '../../src/metrics/metrics-access.ts';
import { EVENT_LOOP_SAMPLE_MS } from '../../src/metrics/metrics.ts';
import { startTestServer, TestClient } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('metricsAccess', () => {
  test('without a token: loopback only, and never what a proxy forwarded', () => {
    assert.equal(metricsAccess(request('127.0.0.1'), undefined).ok, true);
    assert.equal(metricsAccess(request('::1'), undefined).ok, true);
    assert.equal(metricsAccess(request('::ffff:127.0.0.1'), undefined).ok, true);
    for (const [address, headers] of [['203.0.113.5', {}], ['10.0.0.2', {}], ['127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }], ['127.0.0.1', { forwarded: 'for=203.0.113.5' }]] as const) {
      const access = metricsAccess(request(address, headers), undefined);
      assert.equal(access.ok, false, `${address} ${JSON.stringify(headers)}`);
      assert.ok(!access.ok && access.status === 404 && /PARLEY_METRICS_TOKEN/.test(access.message));
    }
  });

  test('with a token: the bearer must match, from anywhere', () => {
    assert.equal(metricsAccess(request('203.0.113.5', { authorization: `Bearer ${TOKEN}` }), TOKEN).ok, true);
    for (const authorization of [undefined, '', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const access = metricsAccess(request('127.0.0.1', authorization === undefined ? {} : { authorization }), TOKEN);
      assert.ok(!access.ok && access.status === 401, String(authorization));
    }
  });
});

describe('GET /metrics', () => {
  let server: RunningServer;
  let guarded: RunningServer;
  before(async () => {
    server = await startTestServer({ limits: { messagesPerSecond: 5, messageBurst: 5 } });
    guarded = await startTestServer({ metrics: { token: TOKEN } });
  });
  after(async () => {
    await server?.close();
    await guarded?.close();
  });

  test('a token, once configured, is needed even on loopback; a short token is refused at start', async () => {
    assert.equal((await scrape(guarded.url)).status, 401);
    assert.equal((await scrape(guarded.url, { authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
    const ok = await scrape(guarded.url, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.match(ok.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    await assert.rejects(startTestServer({ metrics: { token: 'short' } }), /at least 16 characters/);
  });

  test('promtool check metrics finds nothing to say', async () => {
    const { text } = await scrape(server.url);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    assert.equal(check.error, undefined, `promtool runs (scripts/system-packages.sh installs prometheus): ${check.error?.message}`);
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint warnings');
  });

  test('figures move as signaling does: participants, messages by type, errors by code, joins, refusals by limit', async () => {
    const before = (await scrape(server.url)).text;
    const at = (text: string, series: string) => sample(text, series) ?? 0;
    const room = 'metrics-room';
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    let text = (await scrape(server.url)).text;
    assert.equal(at(text, 'parley_participants{topology="p2p"}') + at(text, 'parley_participants{topology="sfu"}'), 2, 'two participants');
    assert.equal(at(text, 'parley_rooms{topology="p2p"}') + at(text, 'parley_rooms{topology="sfu"}'), 1);
    assert.equal(at(text, 'parley_signaling_messages_total{type="join"}') - at(before, 'parley_signaling_messages_total{type="join"}'), 2);
    assert.equal(at(text, 'parley_joins_total{kind="new"}') - at(before, 'parley_joins_total{kind="new"}'), 2);

    alice.sendRaw('{ not json');
    await alice.waitFor((m) => m.type === 'error', 'the error for a malformed message');
    for (let i = 0; i < 20; i++) bob.send({ type: 'ping' });
    await bob.waitFor((m) => m.type === 'error' && m.code === ErrorCode.RATE_LIMITED, 'a rate-limit refusal');
    text = (await scrape(server.url)).text;
    assert.ok(at(text, 'parley_signaling_messages_total{type="invalid"}') - at(before, 'parley_signaling_messages_total{type="invalid"}') >= 1);
    assert.ok(at(text, 'parley_signaling_errors_total{code="RATE_LIMITED"}') - at(before, 'parley_signaling_errors_total{code="RATE_LIMITED"}') >= 1);
    assert.ok(at(text, 'parley_rate_limit_refusals_total{limit="message"}') - at(before, 'parley_rate_limit_refusals_total{limit="message"}') >= 1);
    assert.ok(at(text, 'parley_process_cpu_seconds_total') > 0, 'process figures (prom-client defaults)');
    assert.ok(sample(text, 'parley_nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
    // The lag histogram samples every EVENT_LOOP_SAMPLE_MS (not prom-client's 10 ms): its shortest
    // interval since the last scrape is at least that.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const minLag = sample((await scrape(server.url)).text, 'parley_nodejs_eventloop_lag_min_seconds') ?? 0;
    assert.ok(minLag >= (EVENT_LOOP_SAMPLE_MS * 0.9) / 1000 && minLag < 1, `the loop sampled every ${EVENT_LOOP_SAMPLE_MS} ms (shortest interval ${minLag} s)`);
    assert.ok(!/alice|bob|metrics-room/.test(text), 'no participant or room names in any label');

    alice.close();
    bob.close();
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      text = (await scrape(server.url)).text;
      if (at(text, 'parley_participants{topology="p2p"}') + at(text, 'parley_participants{topology="sfu"}') === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(at(text, 'parley_participants{topology="p2p"}') + at(text, 'parley_participants{topology="sfu"}'), 0, 'both gone once they left');
  });
});
