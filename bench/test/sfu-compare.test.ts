import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compare, median, parseRound } from '../sfu/compare-figures.ts';

// Output of `bench:sfu -- --target parley --n 20 --rate 500` (2026-12-07), and of a checkout
// whose bench prints no CPU split.
const withSplit = `Parley SFU (node-datachannel workers); CPU of the Parley server process plus its SFU worker processes
   N      sent   forwarded   delivery %     CPU ms   µs/fwd pkt   pub PLI   pub rtx   sub NACK   subs <99%
----  --------  ----------  -----------  ---------  -----------  --------  --------  ---------  ----------
  20      5011      100220      100.000       2140        21.35        10         0          0           0
  N=20 CPU by process: server 80 ms, sfu worker 2060 ms

parley/janus cpu-per-forwarded-packet ratio at N=20: n/a (janus: not requested)`;
const withoutSplit = `   N      sent   forwarded   delivery %     CPU ms   µs/fwd pkt   pub PLI   pub rtx   sub NACK   subs <99%
  20      5015      100300      100.000       2110        21.04         5         0          0           0`;
const failed = `  20  failed: timed out after 20000 ms waiting for every subscriber connected (connected 19, closed 1)`;

describe('bench:sfu:compare figures', () => {
  test('a row and its CPU split are read; a failed round or another N reads as nothing', () => {
    assert.deepEqual(parseRound(withSplit, 20), { subscribers: 20, delivery: 100, cpuMs: 2140, microsecondsPerPacket: 21.35, cpuByRole: { server: 80, 'sfu worker': 2060 } });
    assert.equal(parseRound(withoutSplit, 20)?.cpuByRole, undefined);
    assert.equal(parseRound(withoutSplit, 20)?.microsecondsPerPacket, 21.04);
    assert.equal(parseRound(failed, 20), undefined);
    assert.equal(parseRound(withSplit, 10), undefined);
  });

  test('paired ratios per round, their median; rounds short of full delivery are left out', () => {
    const round = (us: number, delivery = 100, worker?: number) => ({ subscribers: 20, delivery, cpuMs: 2000, microsecondsPerPacket: us, cpuByRole: worker === undefined ? undefined : { server: 100, 'sfu worker': worker } });
    const result = compare([
      { candidate: round(22, 100, 1900), baseline: round(20, 100, 1900) },
      { candidate: round(21), baseline: round(20) },
      { candidate: round(30, 98.5), baseline: round(20) },
      { candidate: undefined, baseline: round(20) },
      { candidate: round(19), baseline: round(20) },
    ]);
    assert.equal(result.valid, 3);
    assert.deepEqual(result.ratios.map((r) => Number(r.toFixed(3))), [1.1, 1.05, 0.95]);
    assert.equal(Number(result.medianRatio.toFixed(3)), 1.05);
    // The worker's share (1900 of 2000 ms) times each side's µs per packet: 20.9 / 19.
    assert.deepEqual(result.workerRatios.map((r) => Number(r.toFixed(3))), [1.1]);
  });

  test('median of even and odd counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });
});
