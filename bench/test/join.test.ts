// The join benchmark's arithmetic (bench/join/figures.ts, report.ts, options.ts) on hand-made
// timelines, with the expected figures worked out in the comments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { p2pSteps, percentile, sfuSteps, summarize, type PageRecord, type RunRecord } from '../join/figures.ts';
import { parseJoinOptions } from '../join/options.ts';
import { caseTable, goalLines, type CaseReport } from '../join/report.ts';

const T0 = 1_700_000_000_000;

function page(identity: string, marks: Array<[string, number, string?]>, firstFrames: Record<string, number> = {}): PageRecord {
  return { identity, marks: marks.map(([step, at, detail]) => ({ step, at: T0 + at, detail: detail ?? '' })), firstFrames: Object.fromEntries(Object.entries(firstFrames).map(([k, v]) => [k, T0 + v])) };
}

describe('percentile', () => {
  it('interpolates between closest ranks and ignores input order', () => {
    assert.equal(percentile([30, 10, 20], 50), 20);
    assert.equal(percentile([10, 20, 30, 40], 50), 25); // rank 1.5
    assert.equal(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90), 91); // rank 8.1: 90 + 0.1 x 10
    assert.equal(percentile([7], 90), 7);
    assert.equal(percentile([], 50), undefined);
  });
  it('summarize gives median, p90 and the count', () => {
    assert.deepEqual(summarize([100, 300, 200]), { median: 200, p90: 280, n: 3 }); // p90 rank 1.8: 200 + 0.8 x 100
  });
});

describe('SFU steps of one run', () => {
  // The newcomer connects at 1000 (page clock) and two others were there before.
  const newcomer = page(
    'new1',
    [
      ['connect', 1000],
      ['joined', 1020],
      ['subscriberOffer', 1040, 'old0:camera,old0:microphone,old1:camera'],
      ['subscriberAnswer', 1060, 'old0:camera,old0:microphone,old1:camera'],
      ['publishAnswer', 1070, 'microphone'],
      ['publishAnswer', 1080, 'camera'],
      ['iceConnected', 1090, 'sub'],
      ['iceConnected', 1100, 'pub:camera'],
      ['dtlsConnected', 1110, 'sub'],
      ['dtlsConnected', 1120, 'pub:camera'],
    ],
    { 'old0:camera': 1250, 'old1:camera': 1300 },
  );
  // An earlier offer without the newcomer's camera must not count.
  const old0 = page('old0', [['connect', 0], ['subscriberOffer', 500, 'old1:camera'], ['subscriberOffer', 1085, 'old1:camera,new1:camera'], ['subscriberAnswer', 1095, 'old1:camera,new1:camera']], { 'new1:camera': 1200 });
  const old1 = page('old1', [['connect', 10], ['subscriberOffer', 1086, 'old0:camera,new1:camera'], ['subscriberAnswer', 1097, 'old0:camera,new1:camera']], { 'new1:camera': 1260 });
  const run: RunRecord = {
    newcomer,
    others: [old0, old1],
    server: {
      tracks: [
        { trackId: 'N', publisher: 'new1', source: 'camera', firstPacketAt: T0 + 1130 },
        { trackId: 'A', publisher: 'old0', source: 'camera', firstPacketAt: T0 + 100 },
        { trackId: 'B', publisher: 'old1', source: 'camera', firstPacketAt: T0 + 200 },
      ],
      delivered: [
        { trackId: 'N', publisher: 'new1', subscriber: 'old0', at: T0 + 1150 },
        { trackId: 'N', publisher: 'new1', subscriber: 'old1', at: T0 + 1170 },
        { trackId: 'A', publisher: 'old0', subscriber: 'new1', at: T0 + 1200 },
        { trackId: 'B', publisher: 'old1', subscriber: 'new1', at: T0 + 1220 },
      ],
    },
  };
  const { othersSeeNewcomer, newcomerSeesOthers } = sfuSteps(run);

  it('the others see the newcomer: its publish, the SFU, each other participant, and the last of them', () => {
    assert.deepEqual(othersSeeNewcomer.get('signaling joined'), [20]);
    assert.deepEqual(othersSeeNewcomer.get('camera publish answer'), [80]);
    assert.deepEqual(othersSeeNewcomer.get('camera ICE connected'), [100]);
    assert.deepEqual(othersSeeNewcomer.get('camera DTLS connected'), [120]);
    assert.deepEqual(othersSeeNewcomer.get('first camera RTP at the SFU'), [130]);
    assert.deepEqual(othersSeeNewcomer.get('subscriber offer at the others'), [85, 86]);
    assert.deepEqual(othersSeeNewcomer.get('subscriber answer from the others'), [95, 97]);
    assert.deepEqual(othersSeeNewcomer.get('first keyframe forwarded'), [150, 170]);
    assert.deepEqual(othersSeeNewcomer.get('first frame decoded (each)'), [200, 260]);
    assert.deepEqual(othersSeeNewcomer.get('first frame decoded (all)'), [260]);
  });

  it('the newcomer sees the others: its receiving connection, and each other camera', () => {
    assert.deepEqual(newcomerSeesOthers.get('subscriber offer'), [40]);
    assert.deepEqual(newcomerSeesOthers.get('subscriber answer'), [60]);
    assert.deepEqual(newcomerSeesOthers.get('ICE connected (receiving)'), [90]);
    assert.deepEqual(newcomerSeesOthers.get('DTLS connected (receiving)'), [110]);
    assert.deepEqual(newcomerSeesOthers.get('first keyframe forwarded (each)'), [200, 220]);
    assert.deepEqual(newcomerSeesOthers.get('first frame decoded (each)'), [250, 300]);
    assert.deepEqual(newcomerSeesOthers.get('first frame decoded (all)'), [300]);
  });

  it('an other that never showed the newcomer leaves "all" without a sample rather than a wrong one', () => {
    const missing = sfuSteps({ ...run, others: [old0, { ...old1, firstFrames: {} }] });
    assert.deepEqual(missing.othersSeeNewcomer.get('first frame decoded (each)'), [200]);
    assert.equal(missing.othersSeeNewcomer.get('first frame decoded (all)'), undefined);
  });
});

describe('P2P steps of one run', () => {
  it('takes the offer and answer from whichever side made them, after the newcomer connected', () => {
    const newcomer = page('new1', [['connect', 1000], ['joined', 1015], ['p2pOfferReceived', 1035, 'old0'], ['p2pOfferApplied', 1045, 'old0'], ['p2pAnswer', 1060, 'old0'], ['iceConnected', 1080, 'p2p:old0'], ['dtlsConnected', 1100, 'p2p:old0']], { 'old0:camera': 1180 });
    const old0 = page('old0', [['connect', 0], ['p2pOffer', 300, 'new0'], ['p2pOffer', 1030, 'new1']], { 'new1:camera': 1170 });
    const steps = p2pSteps({ newcomer, others: [old0], server: { tracks: [], delivered: [] } });
    assert.deepEqual(Object.fromEntries(steps), {
      'signaling joined': [15],
      offer: [30],
      'offer received': [35],
      'offer applied (setRemoteDescription)': [45],
      answer: [60],
      'ICE connected': [80],
      'DTLS connected': [100],
      'first frame decoded at the newcomer': [180],
      'first frame decoded at the other': [170],
    });
  });
});

describe('the report', () => {
  const report: CaseReport = {
    name: 'sfu-4',
    p2p: false,
    runs: 3,
    failures: 1,
    floor: [150, 170, 190],
    othersSeeNewcomer: new Map([['first frame decoded (all)', [300, 320]]]),
    newcomerSeesOthers: new Map([['first frame decoded (all)', [250, 270]]]),
  };
  it('a case table: runs, the floor, every step with median, p90 and count (a dash when missing)', () => {
    const table = caseTable(report);
    assert.match(table, /^sfu-4: 2 of 3 runs \(1 failed\)/);
    assert.match(table, /floor .* 170 +186 +3$/m); // p90 of 150/170/190: rank 1.8 -> 170 + 0.8 x 20
    assert.match(table, /first frame decoded \(all\) +310 +318 +2$/m);
    assert.match(table, /camera publish answer +- +- +0$/m);
  });
  it('goal lines state each figure against the floor', () => {
    assert.deepEqual(goalLines([report]), ['sfu-4: all others see the newcomer median 310 (floor + 140), p90 318 (floor + 148); the newcomer sees all median 260 (floor + 90)']);
  });
});

describe('options', () => {
  it('defaults to every case and 5 runs; a list and a count are taken in order, without repeats', () => {
    const all = parseJoinOptions([]);
    assert.notEqual(all, 'help');
    if (all === 'help') return;
    assert.equal(all.runs, 5);
    assert.deepEqual(all.cases.map((c) => c.name), ['p2p', 'sfu-2', 'sfu-4', 'sfu-8', 'auto', 'sfu-2-firefox']);
    const some = parseJoinOptions(['--runs', '3', '--cases', 'auto,p2p,auto']);
    assert.deepEqual(some !== 'help' && [some.runs, some.cases.map((c) => `${c.name}:${c.topology}:${c.size}`)], [3, ['auto:auto:3', 'p2p:p2p:2']]);
  });
  it('refuses unknown cases and bad counts with a sentence', () => {
    assert.throws(() => parseJoinOptions(['--cases', 'sfu-16']), /--cases takes a comma-separated list/);
    assert.throws(() => parseJoinOptions(['--runs', '0']), /--runs must be a whole number/);
    assert.equal(parseJoinOptions(['--help']), 'help');
  });
});
