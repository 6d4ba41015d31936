/**
 * Call-quality analytics (packages/server/src/analytics, metrics/call-quality-metrics.ts): the
 * per-participant record and its verdict, and what the server does with reports from a client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, type CallQualityReport } from '@parley/protocol';
import { assess, CallQualityRecord } from '../../src/analytics/call-quality.ts';
import type { RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';

function report(fields: { intervalMs?: number; rttMs?: number; send?: Partial<CallQualityReport['send']>; receive?: Partial<CallQualityReport['receive']>; joinMs?: number; firstMediaMs?: number } = {}): CallQualityReport {
  return {
    intervalMs: fields.intervalMs ?? 10_000,
    ...(fields.rttMs === undefined ? {} : { rttMs: fields.rttMs }),
    send: { lossRatio: 0, bitrateKbps: 1500, limitation: 'none', ...fields.send },
    receive: { lossRatio: 0, bitrateKbps: 1500, jitterMs: 5, framesDecoded: 300, framesDropped: 0, freezes: 0, frozenMs: 0, ...fields.receive },
    ...(fields.joinMs === undefined ? {} : { joinMs: fields.joinMs }),
    ...(fields.firstMediaMs === undefined ? {} : { firstMediaMs: fields.firstMediaMs }),
  };
}

describe('CallQualityRecord', () => {
  test('a clean call is good; ratios are weighted by the time each report covers', () => {
    const record = new CallQualityRecord();
    assert.equal(record.empty, true);
    record.add(report({ intervalMs: 10_000, rttMs: 40, receive: { lossRatio: 0.01 } }));
    record.add(report({ intervalMs: 2_000, rttMs: 100, receive: { lossRatio: 0.04 }, joinMs: 180, firstMediaMs: 420 }));
    const summary = record.summary();
    assert.equal(summary.rating, 'good');
    assert.deepEqual(summary.issues, []);
    assert.equal(summary.networkAtFault, false);
    assert.equal(summary.seconds, 12);
    assert.equal(summary.receive.lossRatio, 0.015, '(0.01 x 10 + 0.04 x 2) / 12');
    assert.equal(summary.receive.maxLossRatio, 0.04);
    assert.deepEqual(summary.rttMs, { mean: 50, max: 100 });
    assert.equal(summary.receive.framesDecoded, 600);
    assert.deepEqual([summary.joinMs, summary.firstMediaMs], [180, 420]);
  });

  test('a lossy link names the participant’s own network; severe loss makes the call poor', () => {
    const fair = new CallQualityRecord();
    fair.add(report({ receive: { lossRatio: 0.05 } }));
    assert.deepEqual([fair.summary().rating, fair.summary().issues, fair.summary().networkAtFault], ['fair', ['downlink_loss'], true]);
    const poor = new CallQualityRecord();
    poor.add(report({ send: { lossRatio: 0.12 }, rttMs: 350 }));
    assert.deepEqual([poor.summary().rating, poor.summary().issues], ['poor', ['uplink_loss', 'high_rtt']]);
  });

  test('receive loss the others’ uplinks explain is not the receiver’s network', () => {
    const receiver = new CallQualityRecord();
    receiver.add(report({ receive: { lossRatio: 0.055 } }));
    assert.deepEqual([receiver.summary({ othersSendLoss: 0.059 }).issues, receiver.summary({ othersSendLoss: 0.059 }).networkAtFault], [['downlink_loss'], false]);
    assert.equal(receiver.summary({ othersSendLoss: 0.01 }).networkAtFault, true, 'beyond what the others lost on their way up, it is its own');
  });

  test('freezes alone, or a busy CPU, are issues but not the participant’s network', () => {
    const frozen = new CallQualityRecord();
    for (let i = 0; i < 6; i++) frozen.add(report({ receive: { freezes: 2, frozenMs: 500 } }));
    const summary = frozen.summary();
    assert.equal(summary.receive.frozenSeconds, 3);
    assert.deepEqual([summary.rating, summary.issues, summary.networkAtFault], ['fair', ['freezes'], false]);
    assert.deepEqual(assess({ rttMs: undefined, send: summary.send, receive: { ...summary.receive, frozenSeconds: 0 } }, 60_000, { bandwidth: 0, cpu: 40_000, other: 0 }).issues, ['cpu_limited']);
  });

  test('a report claiming more frozen time than it covers counts only its span', () => {
    const record = new CallQualityRecord();
    record.add(report({ intervalMs: 2000, receive: { frozenMs: 60_000 } }));
    assert.equal(record.summary().receive.frozenSeconds, 2);
  });
});

describe('qualityReport over signaling', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  test('accepted reports fill the histograms; bad ones get INVALID_MESSAGE, floods RATE_LIMITED, and change nothing', async () => {
    const client = await TestClient.joined(server, 'quality', 'alice');
    assert.equal((await client.request({ type: 'qualityReport', report: report({ rttMs: 80, receive: { lossRatio: 0.02, freezes: 1, frozenMs: 300 }, joinMs: 150, firstMediaMs: 400 }) })).type, 'ack');
    assert.equal((await client.request({ type: 'qualityReport', report: report({ send: { limitation: 'bandwidth' } }) })).type, 'ack');
    for (const bad of [{ ...report(), intervalMs: 10 }, { ...report(), send: { lossRatio: 2, bitrateKbps: 1, limitation: 'none' } }, { ...report(), receive: undefined }]) {
      const reply = await client.request({ type: 'qualityReport', report: bad });
      assert.ok(reply.type === 'error' && reply.code === ErrorCode.INVALID_MESSAGE, JSON.stringify(reply));
    }
    assert.equal((await client.request({ type: 'qualityReport', report: report() })).type, 'ack', 'a burst of three');
    const flooded = await client.request({ type: 'qualityReport', report: report() });
    assert.ok(flooded.type === 'error' && flooded.code === ErrorCode.RATE_LIMITED, JSON.stringify(flooded));

    const { text } = await scrape(server.url);
    assert.equal(sample(text, 'parley_call_quality_reports_total'), 3);
    assert.equal(sample(text, 'parley_call_rtt_seconds_count'), 1);
    assert.equal(sample(text, 'parley_call_rtt_seconds_bucket{le="0.1"}'), 1);
    assert.equal(sample(text, 'parley_call_packet_loss_ratio_count{direction="receive"}'), 3);
    assert.equal(sample(text, 'parley_call_packet_loss_ratio_bucket{le="0.01",direction="receive"}'), 2);
    assert.equal(sample(text, 'parley_call_video_freezes_total'), 1);
    assert.equal(sample(text, 'parley_call_video_frozen_seconds_total'), 0.3);
    assert.equal(sample(text, 'parley_call_quality_limited_seconds_total{reason="bandwidth"}'), 10);
    assert.equal(sample(text, 'parley_join_duration_seconds_count'), 1);
    assert.equal(sample(text, 'parley_time_to_first_media_seconds_bucket{le="0.5"}'), 1);
    assert.equal(sample(text, 'parley_rate_limit_refusals_total{limit="quality_report"}'), 1);

    assert.equal((await client.request({ type: 'leave' })).type, 'ack');
    await client.closed;
    const afterLeave = await scrape(server.url);
    assert.equal(sample(afterLeave.text, 'parley_call_participants_rated_total{rating="good"}'), 1);
  });
});
