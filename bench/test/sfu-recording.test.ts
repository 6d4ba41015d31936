// `bench:sfu --record`: the option, and the cost lines' arithmetic on hand-made rounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBenchOptions } from '../sfu/options.ts';
import { recordingCostLines, type RoundResult } from '../sfu/report.ts';

const round = (subscribers: number, cpuMicroseconds: number, recorderCpuMicroseconds?: number): RoundResult => ({
  subscribers, packetsSent: 10_000, packetsForwarded: 10_000 * subscribers, cpuMicroseconds, seconds: 10, keyframeRequests: 0, retransmitted: 0, subscriberNacks: 0, subscribersShort: 0,
  ...(recorderCpuMicroseconds === undefined ? {} : { recorderCpuMicroseconds }),
});

describe('bench:sfu --record', () => {
  it('is off unless asked', () => {
    assert.equal((parseBenchOptions([]) as { record: boolean }).record, false);
    assert.equal((parseBenchOptions(['--record', '--target', 'parley']) as { record: boolean }).record, true);
  });

  it('per N: µs per forwarded packet without and with, the recorder share, and the cost per recorded packet', () => {
    // N=20: 200k forwarded; 3.2 s -> 16 µs without, 3.6 s -> 18 µs with (+2, 12.5 %); recorder 0.2 s -> 1 µs.
    // Per recorded (received) packet: 360 - 320 = +40 µs, of which the recorder 20, worker and server 20.
    const [title, line] = recordingCostLines([round(20, 3_200_000)], [round(20, 3_600_000, 200_000)]);
    assert.match(title!, /µs of CPU per forwarded packet/);
    assert.equal(line, '  N=20: 16.00 without, 18.00 with (+2.00, 12.5 %), of which the recorder process 1.00; per recorded packet +40.0 µs (recorder 20.0, worker and server 20.0); delivery 100.000 % with');
  });

  it('a failed round is n/a, not a figure', () => {
    assert.deepEqual(recordingCostLines([round(1, 1000)], [{ subscribers: 1, error: 'timed out' }]).slice(1), ['  N=1: n/a (a round failed)']);
  });
});
