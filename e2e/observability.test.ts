/**
 * Observability during a real call: Chromium and Firefox in an SFU room (camera, microphone,
 * quality reports every 2 s, webhooks on), a real Prometheus scraping the node every second.
 * Every query of the Grafana dashboard and every alert expression returns data, and the families
 * only real media moves (SFU packets and bytes, tracks by codec, call quality from the SDKs)
 * are above 0: what deploy/grafana.test.ts cannot show with signaling-only clients.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VIDEO_CODECS } from '@parley/protocol';
import { alertExpressions, concrete, label, metricNames, queries } from '../packages/server/test/dashboard-queries.ts';
import { pending, startPrometheus, until, type RunningPrometheus } from '../packages/server/test/prometheus-harness.ts';
import { Receiver } from '../packages/server/test/webhook-receiver.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant } from './harness/participant.ts';

const ROOM = 'observed';
const receiver = new Receiver();
await receiver.up();

/** What one call on a healthy node does not move (0, or NaN for a ratio of zero rates), with the reason. */
const NOT_MOVED_BY_A_CALL: Record<string, string> = {
  parley_sfu_uplink_collapses_total: "a publisher's uplink losing most of every layer (e2e/sfu-loss.test.ts)",
  parley_sfu_worker_loop_stalls_total: "a worker loop blocked over 50 ms past its 25 ms tick: a busy core does it in some calls, not in others (e2e/sfu-loss.test.ts stalls a worker on purpose)",
  parley_sfu_worker_restarts_total: 'a dying SFU worker (sfu/sfu-signaling.test.ts)',
  parley_sfu_probe_packets_total: 'a subscriber the SFU holds below the top layer and probes (e2e/sfu-loss.test.ts)',
  parley_sfu_publisher_nacked_packets_total: 'loss on a publisher uplink (loopback loses nothing)',
  parley_sfu_retransmitted_packets_total: 'loss on a subscriber downlink (loopback loses nothing)',
  parley_sfu_keyframe_requests_total: "a subscriber that starts after the publisher's first keyframe, or loss: a subscriber there from the start gets that keyframe unasked (0 in 1 of 3 clean-clone CI runs)",
  parley_nodejs_eventloop_lag_seconds: "prom-client's last single lag sample, usually 0",
  parley_webhook_queued_events: 'a receiver that falls behind (webhooks/webhooks.test.ts)',
  parley_rate_limit_refusals_total: 'a flood (limits/signaling-limits.test.ts, deploy/grafana.test.ts)',
  parley_call_video_freezes_total: 'a freeze (e2e/call-quality.test.ts under loss)',
  parley_call_video_frozen_seconds_total: 'a freeze',
  parley_call_quality_limited_seconds_total: 'a camera limited by bandwidth or CPU',
  parley_call_participants_rated_total: 'a participant leaving (it is counted when the call ends)',
  parley_participants_left_total: 'a participant leaving',
  parley_sfu_layer_switches_total: 'congestion or a requested quality (e2e/sfu-loss.test.ts moves layers)',
  parley_turn_allocations: 'TURN relaying (deploy/grafana.test.ts drives the built-in TURN server)',
  parley_turn_relayed_bytes_total: 'TURN relaying',
  parley_turn_relayed_packets_total: 'TURN relaying',
  parley_turn_dropped_packets_total: 'TURN relaying',
  parley_turn_refusals_total: 'a refused TURN request',
  parley_turn_allocations_total: 'TURN relaying',
  parley_turn_binding_requests_total: 'STUN through the built-in server: the SFU is reached directly here',
  parley_signaling_errors_total: 'a refused request',
  parley_webhook_deliveries_total: 'every delivery succeeds here, so failed and dropped are 0 (delivered moves)',
  parley_nodejs_active_requests: 'a libuv request in flight at the scrape',
  parley_mcu_mix_encodes_total: 'an MCU room: this call is on the SFU (test/mcu/webinar-room.test.ts reads these from /metrics)',
  parley_mcu_mixer_ticks_total: 'an MCU room',
  parley_mcu_shared_mix_listeners: 'an MCU room with a listener',
  parley_mcu_mixer_late_ticks_total: 'an MCU room on a busy core',
  parley_mcu_mixer_restarts_total: 'a dying MCU mixer (test/mcu/room-mixers.test.ts)',
  parley_mcu_grid_draws_total: 'an MCU room with video (e2e/mcu-call.test.ts counts the grid draws)',
  parley_mcu_decoder_starts_total: 'a camera in an MCU room (e2e/mcu-call.test.ts reads the warm starts on /metrics)',
  parley_mcu_spare_decoder_deaths_total: 'a spare decoder exiting by itself (test/mcu/video/spare-pool.test.ts)',
};

describe('a real call, observed by a real Prometheus', () => {
  const env = useCallEnvironment({
    rooms: { topology: 'sfu' },
    webhooks: { urls: [receiver.url], secret: 'observability-webhook-secret-0123456789' },
    turn: { enabled: true, port: 0, relayPortMin: 48300, relayPortMax: 48399 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'parley-observed-'));
  let prometheus: RunningPrometheus | undefined;
  after(async () => {
    await prometheus?.stop();
    await receiver.down();
    rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    prometheus = await startPrometheus(dir, env.server.url);
    // rate() needs the joins and the first keyframes between two scrapes: join after the first.
    await until(async () => (await prometheus!.query('parley_rooms')).result.length > 0, 'the first scrape', 15_000);
    const options = { qualityReportIntervalMs: 2000 } as const;
    const chrome = await SdkParticipant.join(env.chromium, env.server.url, ROOM, 'chrome', options);
    const fox = await SdkParticipant.join(env.firefox, env.server.url, ROOM, 'fox', options);
    await Promise.all([chrome.waitForVideoFrom('fox', 30), fox.waitForVideoFrom('chrome', 30)]);
  });

  test('every dashboard query and alert expression returns data; what media moves is above 0', async (t) => {
    const prom = prometheus!;
    await until(async () => (await prom.query('parley_call_quality_reports_total')).result.some(({ value }) => Number(value[1]) >= 4), 'quality reports scraped', 20_000);
    const all = [...queries.map((q) => ({ name: label(q), expr: q.expr, alert: false })), ...alertExpressions().map((expr) => ({ name: `alert: ${expr.slice(0, 60)}`, expr, alert: true }))];
    for (const { name, expr } of all) assert.equal((await prom.query(concrete(expr))).status, 'success', `${name}: ${concrete(expr)}`);
    const mayBeEmpty = (expr: string) => metricNames(expr).includes('parley_nodejs_active_requests');
    // An expression may be 0 when it depends on a family a call does not move (a ratio with such a
    // numerator, say); an alert expression only needs data: a healthy call keeps alerts at 0.
    const mayBeZero = (expr: string) => metricNames(expr).some((name) => name in NOT_MOVED_BY_A_CALL);
    const missing = await pending(
      all.filter(({ expr }) => !mayBeEmpty(expr)),
      async ({ expr, alert }) => {
        const { result } = await prom.query(concrete(expr));
        return result.length > 0 && (alert || mayBeZero(expr) || result.some(({ value }) => Number(value[1]) > 0));
      },
      30_000,
    );
    assert.deepEqual(missing.map(({ name, expr }) => `${name}: ${concrete(expr)}`), [], 'queries without data (or 0 where the call moves them)');
    const figure = async (expr: string) => Number((await prom.query(expr)).result[0]?.value[1] ?? NaN);
    t.diagnostic(
      `during the call: SFU in ${Math.round((await figure('8 * sum(rate(parley_sfu_received_bytes_total[1m]))')) / 1000)} kbit/s, ` +
        `out ${Math.round((await figure('8 * sum(rate(parley_sfu_sent_bytes_total[1m]))')) / 1000)} kbit/s, ` +
        `video tracks ${await figure('sum(parley_sfu_published_tracks{kind="video"})')}, ` +
        `time to first media p50 ${(await figure('histogram_quantile(0.5, sum by (le) (parley_time_to_first_media_seconds_bucket))')).toFixed(2)} s, ` +
        `webhooks delivered ${await figure('sum(parley_webhook_deliveries_total{result="delivered"})')}`,
    );
    // The codecs the browsers chose are labelled, the others are 0.
    const videoTracks = (await prom.query('parley_sfu_published_tracks{kind="video"} > 0')).result.map(({ metric }) => metric.codec);
    assert.ok(videoTracks.length >= 1 && videoTracks.every((codec) => (VIDEO_CODECS as readonly string[]).includes(codec!)), `video tracks by codec: ${videoTracks.join(', ')}`);
    // Signed room events went out in the room's order (chrome may publish before fox joins).
    const events = receiver.events();
    assert.equal(events[0], 'room_started');
    assert.ok(events.indexOf('participant_joined chrome') < events.indexOf('participant_joined fox'), events.join(', '));
    assert.ok(events.includes('track_published fox camera') && events.includes('track_published chrome microphone'), events.join(', '));
  });
});
