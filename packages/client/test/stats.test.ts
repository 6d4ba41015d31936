import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statsUnlessClosed, type StatsSource } from '../src/stats.ts';

/** A connection whose getStats() settles only when told to, as Firefox's does not after close(). */
function connection(): StatsSource & { signalingState: RTCSignalingState; settle(report?: RTCStatsReport, error?: Error): void } {
  let settle: (report?: RTCStatsReport, error?: Error) => void = () => undefined;
  const pc = {
    signalingState: 'stable' as RTCSignalingState,
    getStats: () =>
      new Promise<RTCStatsReport>((resolve, reject) => {
        settle = (report, error) => (error ? reject(error) : resolve(report!));
      }),
    settle: (report?: RTCStatsReport, error?: Error) => settle(report, error),
  };
  return pc;
}

test('statsUnlessClosed: the report of an open connection', async () => {
  const pc = connection();
  const pending = statsUnlessClosed(pc, 5);
  const report = new Map() as unknown as RTCStatsReport;
  pc.settle(report);
  assert.equal(await pending, report);
});

test('statsUnlessClosed: nothing, without waiting, from a connection closed before or while its getStats() runs', async () => {
  const closedBefore = connection();
  closedBefore.signalingState = 'closed';
  assert.equal(await statsUnlessClosed(closedBefore, 5), undefined);

  // getStats() never settles (Firefox after close()): the poll sees the closed state.
  const closedDuring = connection();
  const pending = statsUnlessClosed(closedDuring, 5);
  closedDuring.signalingState = 'closed';
  assert.equal(await pending, undefined);

  // getStats() rejects because the connection closed under it: not an error for the caller.
  const rejectedOnClose = connection();
  const rejected = statsUnlessClosed(rejectedOnClose, 1000);
  rejectedOnClose.signalingState = 'closed';
  rejectedOnClose.settle(undefined, new Error('InvalidStateError'));
  assert.equal(await rejected, undefined);
});

test('statsUnlessClosed: an open connection’s getStats() error reaches the caller', async () => {
  const pc = connection();
  const pending = statsUnlessClosed(pc, 5);
  pc.settle(undefined, new Error('boom'));
  await assert.rejects(pending, /boom/);
});
