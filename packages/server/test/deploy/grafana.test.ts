/**
 * deploy/grafana: the dashboard is well formed (unique ids, titles, the DS_PROMETHEUS data source
 * variable, a query in every panel, the seven rows), it charts every metric family a running node
 * exports and nothing it does not (counters only through rate()/increase()), and every panel
 * query, run by a real Prometheus (Debian's) scraping a running node after signaling and TURN
 * traffic, succeeds and returns data. Grafana itself is not in Debian's archive: not run here.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '@parley/protocol';
import type { RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient, token } from '../helpers.ts';
import { Receiver } from '../webhook-receiver.ts';
import { scrape } from '../metrics-text.ts';
import { concrete, dashboard, DATASOURCE, grafana, label, metricNames, panels, queries } from '../dashboard-queries.ts';
import { pending, startPrometheus, until, type RunningPrometheus } from '../prometheus-harness.ts';
import { attr, errorCode, restCredentials, StunClass, StunMethod, TurnTestClient } from '../turn/turn-client.ts';

const TURN_SECRET = 'grafana-test-turn-secret-0123456789';

/**
 * Families this test cannot move, so their queries are only required to succeed and return
 * series (which are 0, or NaN for a ratio of two zero rates): each with the reason. Every other
 * query must return at least one value above 0 after the traffic the test makes.
 */
const NOT_MOVED_HERE: Record<string, string> = Object.fromEntries([
  ...[
    'parley_sfu_packets_received_total',
    'parley_sfu_received_bytes_total',
    'parley_sfu_packets_sent_total',
    'parley_sfu_sent_bytes_total',
    'parley_sfu_layer_switches_total',
    'parley_sfu_retransmitted_packets_total',
    'parley_sfu_keyframe_requests_total',
    'parley_sfu_publisher_nacked_packets_total',
    'parley_sfu_probe_packets_total',
    'parley_sfu_published_tracks',
    'parley_sfu_subscriptions',
  ].map((name) => [name, 'needs RTP over DTLS-SRTP from a WebRTC publisher and subscriber (sfu/sfu-signaling.test.ts drives that with node-datachannel and checks these on /metrics); a JSON-only signaling client cannot send media'] as const),
  ['parley_sfu_uplink_collapses_total', "needs a publisher's uplink losing most of every simulcast layer (sfu/worker/uplink-collapse.test.ts)"],
  ['parley_sfu_worker_loop_stalls_total', "needs an SFU worker's loop to stall (e2e/sfu-loss.test.ts stops one three times and reads them on /metrics)"],
  ['parley_sfu_worker_restarts_total', 'needs an SFU worker process to die (sfu/sfu-signaling.test.ts "worker crash" kills one)'],
  ['parley_nodejs_eventloop_lag_seconds', "prom-client's last single lag sample (a setImmediate delay), usually 0 on an idle loop"],
  ['parley_sfu_worker_eventloop_lag_p99_seconds', 'the SFU workers start with the first SFU room; sfu/sfu-signaling.test.ts reads it on /metrics'],
  ['parley_sfu_worker_cpu_seconds_total', 'the SFU workers start with the first SFU room; sfu/sfu-signaling.test.ts checks the CPU on /metrics'],
  ...['parley_mcu_mix_encodes_total', 'parley_mcu_mixer_ticks_total', 'parley_mcu_shared_mix_listeners'].map(
    (name) => [name, 'needs an MCU room whose media started (its mixer process runs): mcu/webinar-room.test.ts checks these on /metrics with 3 speakers and 50 listeners'] as const,
  ),
  ['parley_mcu_mixer_late_ticks_total', 'needs a mixer process starved of CPU for a frame (bench:mcu:mixer counts them under load)'],
  ['parley_mcu_mixer_restarts_total', 'needs an MCU mixer process to die (mcu/room-mixers.test.ts kills one)'],
  ['parley_mcu_grid_draws_total', "needs an MCU room with a published video (browsers): e2e/mcu-call.test.ts checks the mixers' grid draws"],
  ['parley_mcu_decoder_starts_total', 'needs a camera published into an MCU room (mcu/room-mixers.test.ts counts them with a real mixer; e2e/mcu-call.test.ts reads them on /metrics)'],
  ['parley_mcu_spare_decoder_deaths_total', 'needs a spare ffmpeg decoder to exit by itself (mcu/video/spare-pool.test.ts counts deaths)'],
  ['parley_webhook_queued_events', 'the webhook backlog: 0 while the receiver keeps up (webhooks/webhooks.test.ts fills it with the receiver down)'],
]);
/**
 * Families that may have no series at all on a healthy node, so their queries are only required
 * to succeed: prom-client exports a `type` series only while a libuv request (fs, dns) is in flight.
 */
const MAY_BE_EMPTY: Record<string, string> = {
  parley_nodejs_active_requests: 'one series per libuv request type in flight at the scrape (fs, dns): none between requests, so usually no series',
};

describe('deploy/grafana', () => {
  let server: RunningServer;
  let prometheus: RunningPrometheus | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'parley-grafana-'));
  const receiver = new Receiver();
  before(async () => {
    await receiver.up();
    server = await startTestServer({
      webhooks: { urls: [receiver.url], secret: 'grafana-webhook-secret-0123456789abcdef' },
      limits: { messagesPerSecond: 5, messageBurst: 5 },
      reconnectGraceSeconds: 5,
      ice: { turnSecret: TURN_SECRET },
      turn: { enabled: true, port: 0, relayPortMin: 47000, relayPortMax: 47999, allowedPeers: ['127.0.0.1/32'] },
    });
    prometheus = await startPrometheus(dir, server.url);
  });
  after(async () => {
    await prometheus?.stop();
    await server?.close();
    await receiver.down();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the dashboard: unique ids, titles, the data source variable and a query in every panel, the seven rows, no overlaps', () => {
    assert.equal(dashboard.schemaVersion, 39);
    assert.equal(dashboard.uid, 'parley');
    const all = dashboard.panels ?? [];
    const ids = all.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id)), 'every panel and row has an id');
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    assert.deepEqual(
      all.filter((p) => p.type === 'row').map((p) => p.title),
      ['Overview', 'Calls', 'Call quality', 'SFU', 'Signaling', 'TURN', 'Node health'],
    );
    assert.ok(panels.length >= 30, `${panels.length} panels`);
    for (const panel of panels) {
      const name = `panel ${panel.id} "${panel.title}"`;
      assert.ok(panel.title && panel.title.trim().length > 0, `${name} has a title`);
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE }, `${name} reads the data source variable`);
      assert.ok((panel.targets ?? []).length >= 1, `${name} has a query`);
      const refIds = panel.targets!.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${name}: unique refIds`);
      for (const target of panel.targets!) {
        assert.ok(target.expr && target.expr.trim().length > 0, `${name} ${target.refId}: an expr`);
        if (target.datasource) assert.deepEqual(target.datasource, { type: 'prometheus', uid: DATASOURCE }, `${name} ${target.refId}`);
        // Every selector is narrowed to the chosen nodes, and nothing but known variables is left.
        const selectors = [...target.expr.matchAll(/\b(parley_[a-z0-9_]+|up)\{([^}]*)\}/g)];
        assert.equal(selectors.length, [...target.expr.matchAll(/\b(parley_[a-z0-9_]+|up)\b/g)].length, `${name}: every metric has a selector: ${target.expr}`);
        for (const [, , matchers] of selectors) assert.match(matchers!, /instance=~"\$node"/, `${name}: ${target.expr}`);
        assert.doesNotMatch(concrete(target.expr), /\$/, `${name}: only $node and $__rate_interval: ${target.expr}`);
      }
      const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
      assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, `${name}: a place in the 24-column grid`);
    }
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        const [p, q] = [a.gridPos!, b.gridPos!];
        assert.ok(p.x + p.w <= q.x || q.x + q.w <= p.x || p.y + p.h <= q.y || q.y + q.h <= p.y, `"${a.title}" and "${b.title}" overlap`);
      }
    }
    const variables = dashboard.templating?.list ?? [];
    const ds = variables.find((v) => v.name === 'DS_PROMETHEUS');
    assert.equal(ds?.type, 'datasource');
    assert.equal(ds?.query, 'prometheus');
    const node = variables.find((v) => v.name === 'node');
    assert.equal(node?.type, 'query');
    assert.equal(node?.datasource?.uid, DATASOURCE);
    assert.equal(node?.definition, 'label_values(parley_rooms, instance)');
    assert.ok(node?.includeAll && node.multi && node.allValue === '.*', 'All nodes by default, several selectable');

    // The provisioning files point where the README says, and at the data source uid it names.
    const datasources = readFileSync(join(grafana, 'provisioning/datasources/prometheus.yml'), 'utf8');
    assert.match(datasources, /^apiVersion: 1$/m);
    assert.match(datasources, /type: prometheus/);
    assert.match(datasources, /timeInterval: 15s/);
    const providers = readFileSync(join(grafana, 'provisioning/dashboards/parley.yml'), 'utf8');
    assert.match(providers, /^apiVersion: 1$/m);
    assert.match(providers, /type: file/);
    assert.match(readFileSync(join(grafana, 'README.md'), 'utf8'), new RegExp(/path: (\S+)/.exec(providers)![1]!.replaceAll('/', '\\/')));
  });

  test("every family on a running node's /metrics is on the dashboard, every metric it names is exported, counters only through rate()/increase()", async () => {
    const { text } = await scrape(server.url);
    const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    assert.ok(families.has('parley_turn_relayed_bytes_total'), 'the TURN families (the node runs the built-in server)');
    const familyOf = (name: string) => {
      const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
      return histogram && families.get(histogram[1]!) === 'histogram' ? histogram[1]! : name;
    };
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const definition of dashboard.templating?.list ?? []) if (definition.definition) for (const name of metricNames(definition.definition)) used.add(name);
    for (const name of used) assert.ok(families.has(familyOf(name)), `${name} is exported`);
    const charted = new Set([...used].map(familyOf));
    const uncharted = [...families.keys()].filter((family) => !charted.has(family));
    assert.deepEqual(uncharted, [], 'families without a panel');

    for (const { panel, expr } of queries) {
      for (const m of expr.matchAll(/\bparley_[a-z0-9_]+/g)) {
        const type = families.get(familyOf(m[0]));
        if (type === 'counter' || type === 'histogram') assert.match(expr.slice(0, m.index), /(?:rate|increase)\($/, `${panel}: ${m[0]} is a ${type}, read through rate() or increase(): ${expr}`);
      }
    }
    for (const name of [...Object.keys(NOT_MOVED_HERE), ...Object.keys(MAY_BE_EMPTY)]) assert.ok(used.has(name), `${name} (listed as not checked for values) is on the dashboard`);
  });

  test('a real Prometheus scraping a running node, after signaling and TURN traffic: every panel query succeeds and returns data', async () => {
    const prom = prometheus!;
    // rate() needs the traffic between two scrapes: wait for the first one.
    await until(async () => (await prom.query('parley_rooms')).result.length > 0, 'the first scrape', 15_000);
    const peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const turn = await TurnTestClient.udp('127.0.0.1', server.turn!.server.addresses.udp);
    const clients: TestClient[] = [];
    try {
      // Calls and signaling: two joins (new), a resume (resumed), a refused token, a malformed
      // message, a flood refused by the message rate limit.
      const alice = await TestClient.open(server);
      clients.push(alice);
      const joined = await alice.request({ type: 'join', token: await token('grafana-room', 'alice') });
      assert.equal(joined.type, 'joined');
      const bob = await TestClient.joined(server, 'grafana-room', 'bob');
      clients.push(bob);
      const again = await TestClient.open(server);
      clients.push(again);
      const resumed = await again.request({ type: 'join', token: await token('grafana-room', 'alice'), resume: (joined as { sessionId: string }).sessionId });
      assert.ok(resumed.type === 'joined' && resumed.resumed, 'the membership resumed');
      const stranger = await TestClient.open(server);
      clients.push(stranger);
      const refused = await stranger.request({ type: 'join', token: await token('grafana-room', 'mallory', { secret: 'not-the-secret-not-the-secret-not-the-secret' }) });
      assert.ok(refused.type === 'error' && refused.code.startsWith('TOKEN_'), `a refused token: ${JSON.stringify(refused)}`);
      bob.sendRaw('{ not json');
      await bob.waitFor((m) => m.type === 'error', 'the error for a malformed message');
      for (let i = 0; i < 20; i++) bob.send({ type: 'ping' });
      await bob.waitFor((m) => m.type === 'error' && m.code === ErrorCode.RATE_LIMITED, 'a rate-limit refusal');

      // Call quality: a participant reports its call (loss, a freeze, a bandwidth-limited camera,
      // its join and first-media times) and leaves, rated; the webhooks carry its join and leave.
      const carol = await TestClient.joined(server, 'grafana-room', 'carol');
      clients.push(carol);
      const report = { intervalMs: 10_000, rttMs: 80, send: { lossRatio: 0.01, bitrateKbps: 900, limitation: 'bandwidth' }, receive: { lossRatio: 0.04, bitrateKbps: 1200, jitterMs: 15, framesDecoded: 280, framesDropped: 2, freezes: 1, frozenMs: 400 }, joinMs: 120, firstMediaMs: 450 };
      // Carol's join moved the room to the SFU, and her messages are handled in order after that
      // move, which starts this server's first SFU worker (started on demand here: 1-4 s on a
      // busy 2-core machine).
      const reportId = carol.send({ type: 'qualityReport', report });
      assert.equal((await carol.waitFor((m) => 'replyTo' in m && m.replyTo === reportId, 'the quality report acknowledged', 15_000)).type, 'ack');
      assert.equal((await carol.request({ type: 'leave' })).type, 'ack');

      // TURN: a binding, a wrong password, an allocation relaying both ways, a packet dropped
      // for want of a permission, a permission refused for a forbidden (loopback) peer.
      assert.equal((await turn.request(StunMethod.Binding, [])).cls, StunClass.SuccessResponse);
      const credentials = restCredentials(TURN_SECRET, 'grafana');
      assert.equal(errorCode(await turn.request(StunMethod.Allocate, [attr.transport()])), 401, 'the challenge');
      assert.equal(errorCode(await turn.request(StunMethod.Allocate, [attr.transport()], { ...credentials, password: 'wrong' })), 401, 'a wrong password');
      const allocated = await turn.authenticated(StunMethod.Allocate, [attr.transport()], credentials);
      assert.equal(allocated.cls, StunClass.SuccessResponse, `allocate: ${errorCode(allocated)}`);
      const peerAddress = { address: '127.0.0.1', port: peer.address().port, family: 4 as const };
      const toPeer = new Promise<{ address: string; port: number }>((resolve) => peer.once('message', (_data, rinfo) => resolve(rinfo)));
      turn.indication(StunMethod.Send, [attr.peer(peerAddress), attr.data(Buffer.from('dropped: no permission yet'))]);
      assert.equal((await turn.request(StunMethod.CreatePermission, [attr.peer(peerAddress)], credentials)).cls, StunClass.SuccessResponse);
      turn.indication(StunMethod.Send, [attr.peer(peerAddress), attr.data(Buffer.from('hello peer'))]);
      const relay = await toPeer;
      // The relay address is the host's (defaultRelayAddress), not necessarily 127.0.0.1.
      peer.send(Buffer.from('hello client'), relay.port, relay.address);
      await turn.waitFor((m) => m.method === StunMethod.Data && m.cls === StunClass.Indication, 'the peer reply relayed to the client');
      assert.equal(errorCode(await turn.request(StunMethod.CreatePermission, [attr.peer({ address: '127.0.0.2', port: 9, family: 4 })], credentials)), 403, 'a forbidden peer');

      // Garbage for the GC histogram (minor collections) within the rate window.
      let garbage: object[] = [];
      for (let i = 0; i < 300_000; i++) garbage.push({ i });
      garbage = [];

      // The node variable's values: Grafana's label_values(parley_rooms, instance).
      const values = (await prom.get(`/api/v1/label/instance/values?match[]=${encodeURIComponent('parley_rooms')}`)) as { status?: string; data?: string[] } | undefined;
      assert.equal(values?.status, 'success');
      assert.deepEqual(values?.data, [new URL(server.url).host], 'the node variable lists the node');

      // Every query succeeds at once (a syntax error would not heal by waiting).
      for (const q of queries) {
        const answer = await prom.query(concrete(q.expr));
        assert.equal(answer.status, 'success', `${label(q)}: ${concrete(q.expr)}: ${answer.error}`);
      }
      const mayBeEmpty = (expr: string) => metricNames(expr).some((name) => name in MAY_BE_EMPTY);
      const mayBeZero = (expr: string) => metricNames(expr).length > 0 && metricNames(expr).every((name) => name in NOT_MOVED_HERE);
      // Then data, and a value above 0 where this traffic moves it; rate() needs two scrapes
      // after the traffic: 30 s at most.
      const missing = await pending(
        queries.filter((q) => !mayBeEmpty(q.expr)),
        async (q) => {
          const { result } = await prom.query(concrete(q.expr));
          return result.length > 0 && (mayBeZero(q.expr) || result.some(({ value }) => Number(value[1]) > 0));
        },
        30_000,
      );
      assert.deepEqual(missing.map((q) => `${label(q)}: ${concrete(q.expr)}`), [], 'queries without data (or only zeros where the test made traffic)');
      const validOnly = queries.filter((q) => mayBeEmpty(q.expr)).map(label);
      assert.deepEqual(validOnly, ['Handles and file descriptors [requests {{type}}]'], 'the queries only checked for success');
    } finally {
      for (const client of clients) client.close();
      turn.close();
      peer.close();
    }
  });
});
