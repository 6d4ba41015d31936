// The join benchmark's arithmetic (bench/join/figures.ts, frames.ts, report.ts, options.ts) on
// hand-made timelines, with the expected figures worked out in the comments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { p2pSteps, percentile, runChecks, sfuSteps, summarize, type PageRecord, type RunRecord } from '../join/figures.ts';
import { addChecks, checkFrames, firstFrameOf, NO_CHECKS, type FrameCallback } from '../join/frames.ts';
import { parseJoinOptions } from '../join/options.ts';
import { caseTable, checkLine, goalLines, type CaseReport } from '../join/report.ts';

/** Every page's time origin here: page times below are ms after it. */
const T0 = 1_700_000_000_000;

/** A first frame whose last packet came at `received`, decoded in `decodeMs`, handed to the compositor at `shown`. */
function frame(received: number, decodeMs: number, shown: number, presentedFrames = 1): FrameCallback {
  return { timeOrigin: T0, now: shown + 5, presentationTime: shown, presentedFrames, receiveTime: received, processingDuration: decodeMs / 1000 };
}

function page(identity: string, marks: Array<[string, number, string?]>, firstFrames: Record<string, FrameCallback> = {}): PageRecord {
  return { identity, marks: marks.map(([step, at, detail]) => ({ step, at: T0 + at, detail: detail ?? '' })), firstFrames };
}

describe('the first frame of a video, from its requestVideoFrameCallback', () => {
  const origin = 1_700_000_123_456.5;
  it('decoded: the first frame presented: its last packet received + its decode time (s -> ms); shown: the presentation time; both + the time origin', () => {
    const first = firstFrameOf({ timeOrigin: origin, now: 990, presentationTime: 968.5, presentedFrames: 1, receiveTime: 946, processingDuration: 0.0025, firstReadAt: 960 });
    // The processor gave the same frame 11.5 ms after it was decoded.
    assert.deepEqual(first, { decoded: origin + 948.5, shown: origin + 968.5, decodedFrom: 'first frame', presentedFrames: 1, readLag: 11.5 });
  });
  it("a callback that describes a later frame (16 presented before it): the processor's first frame, or the later frame's presentation if that was earlier", () => {
    const late = firstFrameOf({ timeOrigin: origin, now: 1200, presentationTime: 1150, presentedFrames: 17, receiveTime: 1090, processingDuration: 0.003, firstReadAt: 420 });
    assert.deepEqual(late, { decoded: origin + 420, shown: origin + 1150, decodedFrom: 'processor', presentedFrames: 17, readLag: undefined });
    const slowRead = firstFrameOf({ timeOrigin: origin, now: 1200, presentationTime: 1150, presentedFrames: 2, receiveTime: 1090, processingDuration: 0.003, firstReadAt: 1170 });
    assert.equal(slowRead.decoded, origin + 1150);
  });
  it('a later frame and no processor (Firefox): that frame\'s receive + decode time, said so', () => {
    const late = firstFrameOf({ timeOrigin: T0, now: 1200, presentationTime: 1150, presentedFrames: 3, receiveTime: 1090, processingDuration: 0.01 });
    assert.deepEqual(late, { decoded: T0 + 1100, shown: T0 + 1150, decodedFrom: 'later frame', presentedFrames: 3, readLag: undefined });
  });
  it('without a receive time or a decode time, decoded is the presentation time, and says so; a presentation time of 0 falls back to the callback time', () => {
    const noReceive = firstFrameOf({ timeOrigin: T0, now: 500, presentationTime: 480, presentedFrames: 1, processingDuration: 0.004 });
    assert.deepEqual(noReceive, { decoded: T0 + 480, shown: T0 + 480, decodedFrom: 'shown', presentedFrames: 1, readLag: undefined });
    const noDecode = firstFrameOf({ timeOrigin: T0, now: 500, presentationTime: 480, presentedFrames: 1, receiveTime: 470 });
    assert.equal(noDecode.decodedFrom, 'shown');
    assert.equal(firstFrameOf({ timeOrigin: T0, now: 500, presentationTime: 0, presentedFrames: 1 }).shown, T0 + 500);
  });
  it('the checks count where each decoded time came from, decoded after shown, and how late the processor was', () => {
    const frames = [
      { ...frame(100, 5, 120), firstReadAt: 145 }, // decoded 105: the processor 40 ms later
      { ...frame(100, 30, 120), firstReadAt: 140 }, // decoded 130, after shown 120; the processor 10 ms later
      frame(100, 5, 110), // no processor
      { ...frame(200, 5, 600, 4), firstReadAt: 150 },
      frame(200, 5, 600, 4),
      { timeOrigin: T0, now: 50, presentationTime: 40, presentedFrames: 1 },
    ].map(firstFrameOf);
    const checks = checkFrames(frames);
    assert.deepEqual(checks, { frames: 6, from: { 'first frame': 3, processor: 1, 'later frame': 1, shown: 1 }, decodedAfterShown: 1, readLags: [40, 10] });
    assert.deepEqual(addChecks(checks, checks), { frames: 12, from: { 'first frame': 6, processor: 2, 'later frame': 2, shown: 2 }, decodedAfterShown: 2, readLags: [40, 10, 40, 10] });
    assert.deepEqual(addChecks(checks, NO_CHECKS), checks);
    assert.equal(
      checkLine(checks),
      "first frames: 6; decoded from the first frame's receive + decode time 3, from the processor (the callback described a later frame) 1, from a later frame's receive + decode time 1, from the presentation time 1; decoded after shown 1; the processor's first frame after the first frame decoded: median 25, p90 37 ms (n 2)",
    ); // p90 of 10/40: rank 0.9 -> 10 + 0.9 x 30
  });
});

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
    { 'old0:camera': frame(1240, 10, 1255), 'old1:camera': frame(1280, 20, 1310) }, // decoded 1250 and 1300
  );
  // An earlier offer without the newcomer's camera must not count.
  const old0 = page('old0', [['connect', 0], ['subscriberOffer', 500, 'old1:camera'], ['subscriberOffer', 1085, 'old1:camera,new1:camera'], ['subscriberAnswer', 1095, 'old1:camera,new1:camera']], { 'new1:camera': frame(1195, 5, 1230) }); // decoded 1200
  // old1 renders late (a throttled page): decoded at 1260, shown at 1600.
  const old1 = page('old1', [['connect', 10], ['subscriberOffer', 1086, 'old0:camera,new1:camera'], ['subscriberAnswer', 1097, 'old0:camera,new1:camera']], { 'new1:camera': frame(1250, 10, 1600) });
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
    assert.deepEqual(othersSeeNewcomer.get('first frame shown (each)'), [230, 600]);
    assert.deepEqual(othersSeeNewcomer.get('first frame shown (all)'), [600]);
  });

  it('the newcomer sees the others: its receiving connection, and each other camera', () => {
    assert.deepEqual(newcomerSeesOthers.get('subscriber offer'), [40]);
    assert.deepEqual(newcomerSeesOthers.get('subscriber answer'), [60]);
    assert.deepEqual(newcomerSeesOthers.get('ICE connected (receiving)'), [90]);
    assert.deepEqual(newcomerSeesOthers.get('DTLS connected (receiving)'), [110]);
    assert.deepEqual(newcomerSeesOthers.get('first keyframe forwarded (each)'), [200, 220]);
    assert.deepEqual(newcomerSeesOthers.get('first frame decoded (each)'), [250, 300]);
    assert.deepEqual(newcomerSeesOthers.get('first frame decoded (all)'), [300]);
    assert.deepEqual(newcomerSeesOthers.get('first frame shown (each)'), [255, 310]);
    assert.deepEqual(newcomerSeesOthers.get('first frame shown (all)'), [310]);
  });

  it("the run's checks cover every page's first frames", () => {
    assert.deepEqual(runChecks(run), { frames: 4, from: { 'first frame': 4, processor: 0, 'later frame': 0, shown: 0 }, decodedAfterShown: 0, readLags: [] });
  });

  it('an other that never showed the newcomer leaves "all" without a sample rather than a wrong one', () => {
    const missing = sfuSteps({ ...run, others: [old0, { ...old1, firstFrames: {} }] });
    assert.deepEqual(missing.othersSeeNewcomer.get('first frame decoded (each)'), [200]);
    assert.equal(missing.othersSeeNewcomer.get('first frame decoded (all)'), undefined);
    assert.equal(missing.othersSeeNewcomer.get('first frame shown (all)'), undefined);
  });
});

describe('P2P steps of one run', () => {
  it('takes the offer and answer from whichever side made them, after the newcomer connected', () => {
    const newcomer = page('new1', [['connect', 1000], ['joined', 1015], ['p2pOfferReceived', 1035, 'old0'], ['p2pOfferApplied', 1045, 'old0'], ['p2pAnswer', 1060, 'old0'], ['iceConnected', 1080, 'p2p:old0'], ['dtlsConnected', 1100, 'p2p:old0']], { 'old0:camera': frame(1170, 10, 1190) });
    const old0 = page('old0', [['connect', 0], ['p2pOffer', 300, 'new0'], ['p2pOffer', 1030, 'new1']], { 'new1:camera': frame(1165, 5, 1400) });
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
      'first frame shown at the newcomer': [190],
      'first frame shown at the other': [400],
    });
  });
});

describe('the report', () => {
  const checks = { frames: 12, from: { 'first frame': 10, processor: 1, 'later frame': 0, shown: 1 }, decodedAfterShown: 0, readLags: [20, 30] };
  const report: CaseReport = {
    name: 'sfu-4',
    topology: 'sfu',
    runs: 3,
    failures: 1,
    floor: [150, 170, 190],
    floorShown: [160, 180, 200],
    othersSeeNewcomer: new Map([
      ['first frame decoded (all)', [300, 320]],
      ['first frame shown (all)', [700, 900]],
    ]),
    newcomerSeesOthers: new Map([
      ['first frame decoded (all)', [250, 290]],
      ['first frame shown (all)', [260, 300]],
    ]),
    checks,
  };
  it('a case table: runs, the floor decoded and shown, every step with median, p90 and count (a dash when missing), the checks', () => {
    const table = caseTable(report);
    assert.match(table, /^sfu-4: 2 of 3 runs \(1 failed\)/);
    assert.match(table, /floor: .*decoded +170 +186 +3$/m); // p90 of 150/170/190: rank 1.8 -> 170 + 0.8 x 20
    assert.match(table, /floor, shown +180 +196 +3$/m);
    assert.match(table, /first frame decoded \(all\) +310 +318 +2$/m);
    assert.match(table, /first frame shown \(all\) +800 +880 +2$/m);
    assert.match(table, /camera publish answer +- +- +0$/m);
    assert.match(table, /^ {2}first frames: 12; .* from the processor \(the callback described a later frame\) 1, .*; decoded after shown 0; .* median 25, p90 29 ms \(n 2\)$/m);
  });
  it('goal lines: decoded against the floor (shown beside it), and each goal met or missed; a figure at the limit meets it', () => {
    // floor median 170: seen median 310 = floor + 140 (<= 150), p90 318 = floor + 148 (<= 400); sees median 270 = floor + 100 (<= 100).
    assert.deepEqual(goalLines([report]), [
      "sfu-4: all others decoded the newcomer's first frame at median 310 (floor + 140), p90 318 (floor + 148) [shown 800 / 880]; the newcomer decoded all at median 270 (floor + 100), p90 286 (floor + 116) [shown 280 / 296]. Goals: seen floor + 150 median met, floor + 400 p90 met; sees floor + 100 median met",
    ]);
    // floor 300: seen median 1200 (+ 900 > 150), p90 1360 (+ 1060 > 400); sees median 445 (+ 145 > 100).
    const big: CaseReport = { ...report, name: 'sfu-8', floor: [300], floorShown: [310], othersSeeNewcomer: new Map([['first frame decoded (all)', [1000, 1400]]]), newcomerSeesOthers: new Map([['first frame decoded (all)', [390, 500]]]) };
    assert.match(goalLines([big])[0]!, /Goals: seen floor \+ 150 median missed, floor \+ 400 p90 missed; sees floor \+ 100 median missed$/);
  });
  it('p2p is judged both ways at floor + 50, auto on the pair seeing the third within 1 s', () => {
    const p2p: CaseReport = {
      ...report,
      name: 'p2p',
      topology: 'p2p',
      floor: [200],
      othersSeeNewcomer: new Map([
        ['first frame decoded at the other', [240, 260]],
        ['first frame decoded at the newcomer', [301]],
        ['first frame shown at the other', [400]],
      ]),
    };
    assert.deepEqual(goalLines([p2p]), [
      "p2p: the other decoded the newcomer's first frame at median 250 (floor + 50), p90 258 (floor + 58) [shown 400 / 400]; the newcomer decoded theirs at median 301 (floor + 101), p90 301 (floor + 101) [shown - / -]. Goal floor + 50 median: seen met, sees missed",
    ]);
    const auto: CaseReport = { ...report, name: 'auto', topology: 'auto', othersSeeNewcomer: new Map([['first frame decoded (all)', [900, 1100]]]) };
    assert.match(goalLines([auto])[0]!, /Goal the third seen within 1000 ms: median met, p90 missed$/); // median 1000, p90 1080
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
    assert.deepEqual(some !== 'help' && [some.runs, some.cases.map((c) => `${c.name}:${c.topology}:${c.size}`), some.records], [3, ['auto:auto:3', 'p2p:p2p:2'], undefined]);
    const records = parseJoinOptions(['--records', '/tmp/join.jsonl']);
    assert.equal(records !== 'help' && records.records, '/tmp/join.jsonl');
  });
  it('refuses unknown cases and bad counts with a sentence', () => {
    assert.throws(() => parseJoinOptions(['--cases', 'sfu-16']), /--cases takes a comma-separated list/);
    assert.throws(() => parseJoinOptions(['--runs', '0']), /--runs must be a whole number/);
    assert.equal(parseJoinOptions(['--help']), 'help');
  });
});
