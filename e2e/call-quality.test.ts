/**
 * Call-quality analytics end to end: two Chromiums in an SFU room, one of them behind a lossy
 * link (7 % each way, netsim's `lossy`), each SDK reporting its getStats() summary. The server's
 * record of the call, and the webhooks that carry it after the call, name the lossy participant's
 * network and not the other's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyWebhook } from '@parley/server';
import { Receiver } from '../packages/server/test/webhook-receiver.ts';
import { useShapedCallEnvironment } from './harness/environment.ts';
import { SdkParticipant } from './harness/participant.ts';

const ROOM = 'call-quality';
const SECRET = 'call-quality-webhook-secret-0123456789';
/** Reports every 2 s instead of 10 s, so a few of them cover the lossy stretch quickly. */
const REPORT_MS = 2000;
const REPORTS = 6;

const receiver = new Receiver();
await receiver.up();

describe('call-quality analytics of a call with one lossy participant', () => {
  const env = useShapedCallEnvironment({ webhooks: { urls: [receiver.url], secret: SECRET } });
  after(() => receiver.down());
  let steady: SdkParticipant;
  let weak: SdkParticipant;

  before(async () => {
    const options = { roomConfig: { topology: 'sfu' }, qualityReportIntervalMs: REPORT_MS } as const;
    steady = await SdkParticipant.join(env.hostBrowser, env.server.url, ROOM, 'steady', options);
    weak = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, ROOM, 'weak', options);
    await Promise.all([steady.waitForVideoFrom('weak', 30), weak.waitForVideoFrom('steady', 30)]);
    await env.network.applyProfile('lossy');
  });

  /** The server's view of a participant's call, judged with the rest of the room (undefined before a report). */
  const quality = (identity: string) => {
    const room = env.server.rooms.get(ROOM);
    const participant = room?.get(identity);
    return participant && room?.qualityOf(participant);
  };
  const reports = (identity: string) => quality(identity)?.reports ?? 0;

  test('the server’s record names the lossy participant’s network, not the other’s', async (t) => {
    // Reports sent before the loss started are clean: wait for REPORTS more of each.
    const start = { steady: reports('steady'), weak: reports('weak') };
    const deadline = Date.now() + REPORTS * REPORT_MS + 15_000;
    while (reports('steady') < start.steady + REPORTS || reports('weak') < start.weak + REPORTS) {
      assert.ok(Date.now() < deadline, `${REPORTS} reports from each after the loss started (steady ${reports('steady')}, weak ${reports('weak')})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const weakSummary = quality('weak')!;
    const steadySummary = quality('steady')!;
    const figures = (s: typeof weakSummary) => `${s.rating} [${s.issues.join(', ')}] send loss ${s.send.lossRatio} (max ${s.send.maxLossRatio}), receive loss ${s.receive.lossRatio} (max ${s.receive.maxLossRatio}), rtt ${JSON.stringify(s.rttMs)}, frozen ${s.receive.frozenSeconds} s, join ${s.joinMs} ms, first media ${s.firstMediaMs} ms`;
    t.diagnostic(`weak: ${figures(weakSummary)}`);
    t.diagnostic(`steady: ${figures(steadySummary)}`);
    assert.equal(weakSummary.networkAtFault, true, 'the lossy participant’s own network is at fault');
    assert.ok(weakSummary.issues.includes('uplink_loss'), `its uplink loss is named (${weakSummary.issues.join(', ')})`);
    assert.notEqual(weakSummary.rating, 'good');
    assert.equal(steadySummary.networkAtFault, false, `the other’s network is not blamed (${steadySummary.issues.join(', ')})`);
    for (const summary of [weakSummary, steadySummary]) {
      assert.ok(summary.receive.framesDecoded > 100, 'video was decoded on both sides');
      assert.ok(summary.joinMs !== undefined && summary.joinMs > 0, 'the SDK reported its join time');
      assert.ok(summary.firstMediaMs !== undefined && summary.firstMediaMs > 0, 'and its time to first media');
    }
  });

  test('after the call, the webhooks carry each participant’s call and the room’s verdict', async () => {
    await env.network.applyProfile('clear');
    await Promise.all([weak.disconnect(), steady.disconnect()]);
    const deadline = Date.now() + 10_000;
    while (!receiver.deliveries.some((d) => d.payload.event === 'room_finished')) {
      assert.ok(Date.now() < deadline, `room_finished arrives (got ${receiver.events().join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const { body, headers } of receiver.deliveries) assert.equal(verifyWebhook(body, headers['parley-signature'] as string, SECRET).ok, true);
    const left = new Map(receiver.deliveries.flatMap(({ payload }) => (payload.event === 'participant_left' ? [[payload.participant.identity, payload]] : [])));
    assert.equal(left.get('weak')?.quality?.networkAtFault, true);
    assert.equal(left.get('steady')?.quality?.networkAtFault, false);
    const finished = receiver.deliveries.find((d) => d.payload.event === 'room_finished')!.payload;
    assert.ok(finished.event === 'room_finished');
    const atFault = finished.quality.participants.filter((p) => p.networkAtFault).map((p) => p.identity);
    assert.deepEqual(atFault, ['weak'], 'whose network it was');
  });
});
