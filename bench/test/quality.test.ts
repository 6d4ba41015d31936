// The quality benchmark's arithmetic on synthetic frame timelines (bench/quality/figures.ts),
// with expectations computed by hand in the comments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectFreezes, fixed, freezeThresholdMs, lastLine, median, presentations, recoveryMs, summarize, type CaseResult, type FrameCallback } from '../quality/figures.ts';
import { parseQualityOptions } from '../quality/options.ts';
import { scheduleFor } from '../quality/profiles.ts';
import { resultsTable } from '../quality/table.ts';

/** Callbacks every `interval` ms from `from` up to `to` inclusive, presentedFrames counting on from `presented`. */
function frames(from: number, to: number, interval: number, options: { height?: number; element?: number; presented?: number } = {}): FrameCallback[] {
  const out: FrameCallback[] = [];
  for (let at = from, n = options.presented ?? 1; at <= to; at += interval, n++) {
    out.push({ at, presentedFrames: n, width: ((options.height ?? 720) * 16) / 9, height: options.height ?? 720, element: options.element ?? 0 });
  }
  return out;
}

/** Continues `before` (same element) with callbacks from `from`, presentedFrames following on by one per callback. */
function then(before: FrameCallback[], from: number, to: number, interval: number, height = 720): FrameCallback[] {
  const last = before.at(-1)!;
  return [...before, ...frames(from, to, interval, { height, element: last.element, presented: last.presentedFrames + 1 })];
}

const TEN_SECONDS = { start: 0, end: 10_000 };

describe('the freeze threshold (WebRTC: max(3 x median, median + 150 ms))', () => {
  it('is median + 150 ms at high frame rates and 3 x median at low ones; both agree at 75 ms', () => {
    assert.equal(freezeThresholdMs(40), 190); // max(120, 190)
    assert.equal(freezeThresholdMs(100), 300); // max(300, 250)
    assert.equal(freezeThresholdMs(75), 225); // max(225, 225)
  });

  it('median: the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([40, 500, 40]), 40);
    assert.equal(median([30, 10, 40, 20]), 25);
    assert.throws(() => median([]));
  });
});

describe('detectFreezes and summarize', () => {
  it('a steady 25 fps stream has no freeze: 250 frames in 10 s, median gap 40 ms, threshold 190 ms', () => {
    const figures = summarize(frames(20, 9980, 40), TEN_SECONDS); // 20, 60, ... 9980: 250 frames
    assert.equal(figures.freezeCount, 0);
    assert.equal(figures.frozenSecondsPerMinute, 0);
    assert.equal(figures.longestFreezeMs, 0);
    assert.equal(figures.frames, 250);
    assert.equal(figures.fps, 25);
    assert.equal(figures.medianGapMs, 40);
    assert.equal(figures.thresholdMs, 190);
    assert.equal(figures.meanHeight, 720);
    assert.equal(figures.recoveryMs, undefined, 'no recovery figure without a step');
  });

  it('one 500 ms gap in a 10 s window at 25 fps: one freeze, 0.5 s x 6 = 3.00 frozen s/min', () => {
    const timeline = then(frames(20, 4980, 40), 5480, 9960, 40); // gap 4980 -> 5480
    const figures = summarize(timeline, TEN_SECONDS);
    assert.equal(figures.freezeCount, 1);
    assert.equal(figures.longestFreezeMs, 500);
    assert.equal(figures.frozenSecondsPerMinute, 3);
    assert.equal(figures.medianGapMs, 40);
    assert.deepEqual(detectFreezes(timeline, TEN_SECONDS).freezes, [{ at: 4980, durationMs: 500 }]);
  });

  it('a gap must be longer than the threshold: 190 ms at 25 fps is not a freeze, 191 ms is', () => {
    assert.equal(detectFreezes(then(frames(20, 4980, 40), 5170, 9970, 40), TEN_SECONDS).freezes.length, 0);
    assert.deepEqual(detectFreezes(then(frames(20, 4980, 40), 5171, 9971, 40), TEN_SECONDS).freezes, [{ at: 4980, durationMs: 191 }]);
  });

  it('at 5 fps the threshold is 3 x 200 = 600 ms: a 500 ms gap is no freeze, a 700 ms gap is', () => {
    const slow = (gapMs: number) => then(frames(0, 4000, 200), 4000 + gapMs, 10_000, 200);
    assert.equal(detectFreezes(slow(500), TEN_SECONDS).thresholdMs, 600);
    assert.equal(detectFreezes(slow(500), TEN_SECONDS).freezes.length, 0);
    assert.deepEqual(detectFreezes(slow(700), TEN_SECONDS).freezes, [{ at: 4000, durationMs: 700 }]);
  });

  it('skipped callbacks: a 200 ms gap whose presentedFrames advanced by 5 is 5 frames shown, not a freeze', () => {
    const before = frames(20, 4980, 40); // presentedFrames 1..125
    const skipped = [...before, { at: 5180, presentedFrames: 130, width: 1280, height: 720, element: 0 }];
    const timeline = then(skipped, 5220, 9980, 40);
    const figures = summarize(timeline, TEN_SECONDS);
    assert.equal(figures.freezeCount, 0);
    assert.equal(figures.frames, 250, 'the 4 frames without a callback count');
    assert.deepEqual(presentations(skipped).slice(-5).map((f) => f.at), [5020, 5060, 5100, 5140, 5180]);
    // The same gap with presentedFrames advanced by one: nothing was shown for 200 ms.
    const frozen = then([...before, { at: 5180, presentedFrames: 126, width: 1280, height: 720, element: 0 }], 5220, 9980, 40);
    assert.deepEqual(detectFreezes(frozen, TEN_SECONDS).freezes, [{ at: 4980, durationMs: 200 }]);
  });

  it('video that stops 1 s before the window ends: a freeze of 1000 ms, 1 s x 6 = 6.00 frozen s/min', () => {
    const figures = summarize(frames(0, 9000, 40), TEN_SECONDS); // last frame at 9000
    assert.equal(figures.freezeCount, 1);
    assert.equal(figures.longestFreezeMs, 1000);
    assert.equal(figures.frozenSecondsPerMinute, 6);
  });

  it('a freeze that began before the window counts from the window start (the last earlier frame anchors it)', () => {
    const window = { start: 1000, end: 11_000 };
    const timeline = then(frames(20, 700, 40), 1300, 10_980, 40); // 700 -> 1300: 600 ms, 300 of them inside
    assert.deepEqual(detectFreezes(timeline, window).freezes, [{ at: 1000, durationMs: 300 }]);
    assert.equal(summarize(timeline, window).frozenSecondsPerMinute, 1.8); // 0.3 s x 6
  });

  it('no frame inside the window, or a single one: the whole window is one freeze', () => {
    for (const timeline of [[], frames(0, 900, 40), frames(5000, 5000, 40)]) {
      const figures = summarize(timeline, { start: 1000, end: 11_000 });
      assert.equal(figures.frozenSecondsPerMinute, 60);
      assert.equal(figures.freezeCount, 1);
      assert.equal(figures.longestFreezeMs, 10_000);
    }
    assert.equal(summarize([], TEN_SECONDS).meanHeight, undefined);
    assert.equal(summarize([], TEN_SECONDS).fps, 0);
  });

  it('mean height: 100 frames at 720 and 100 at 360 give 540; fps 200 / 8 s = 25', () => {
    const timeline = then(frames(20, 3980, 40), 4020, 7980, 40, 360);
    const figures = summarize(timeline, { start: 0, end: 8000 });
    assert.equal(figures.meanHeight, 540);
    assert.equal(figures.fps, 25);
  });

  it('frames of a new <video> element (a new subscription) continue the timeline without a false freeze', () => {
    const timeline = [...frames(20, 4980, 40), ...frames(5020, 9980, 40, { element: 1 })];
    assert.equal(summarize(timeline, TEN_SECONDS).freezeCount, 0);
  });
});

describe('recovery after the bandwidth step', () => {
  const step = { downAt: 10_000, upAt: 20_000 };
  // 720p until 12 s, 360p from then on, 720p again from 23.5 s (frames at 20 + 40k ms).
  const timeline = frames(20, 29_980, 40).map((f) => ({ ...f, height: f.at < 12_000 || f.at >= 23_500 ? 720 : 360 }));

  it('is the time from the step up to the first frame as tall as the last one before the drop: 23500 - 20000 = 3500 ms', () => {
    assert.equal(recoveryMs(timeline, step, 30_000), 3500);
    assert.equal(summarize(timeline, { start: 0, end: 30_000 }, step).recoveryMs, 3500);
  });

  it('is null (not within window) when that height never comes back before the window ends', () => {
    assert.equal(recoveryMs(timeline, step, 23_000), null);
    assert.equal(recoveryMs(timeline.map((f) => ({ ...f, height: f.at < 12_000 ? 720 : 360 })), step, 30_000), null);
  });
});

describe('the last line', () => {
  const result = (direction: 'uplink' | 'downlink', topology: 'sfu' | 'p2p', frozen: number, profile = 'slow-3g'): CaseResult => ({
    direction,
    topology,
    profile,
    figures: { frozenSecondsPerMinute: frozen, freezeCount: 1, longestFreezeMs: 1, fps: 1, frames: 1 },
  });

  it('is the worst direction of SFU minus P2P under slow-3g, with 2 decimals', () => {
    const results = [result('uplink', 'sfu', 3), result('uplink', 'p2p', 1), result('downlink', 'sfu', 0.5), result('downlink', 'p2p', 2), result('uplink', 'sfu', 30, 'lossy')];
    assert.equal(lastLine(results), 'sfu-p2p frozen seconds per minute under slow-3g, worst direction: 2.00'); // max(2, -1.5)
  });

  it('can be negative (the SFU froze less), and never says -0.00', () => {
    assert.equal(lastLine([result('uplink', 'sfu', 0.5), result('uplink', 'p2p', 2)]), 'sfu-p2p frozen seconds per minute under slow-3g, worst direction: -1.50');
    assert.equal(lastLine([result('uplink', 'sfu', 1.0001), result('uplink', 'p2p', 1.0029)]), 'sfu-p2p frozen seconds per minute under slow-3g, worst direction: 0.00');
    assert.equal(fixed(-0.001, 2), '0.00');
  });

  it('is n/a when no direction has both topologies under slow-3g (a failed case counts as missing)', () => {
    const failed: CaseResult = { direction: 'downlink', topology: 'p2p', profile: 'slow-3g', error: 'timeout' };
    assert.match(lastLine([result('uplink', 'sfu', 1), result('downlink', 'sfu', 1), failed]), /worst direction: n\/a \(/);
  });
});

describe('options, profiles and the table', () => {
  it('defaults: 60 s window, 15 s ramp-up, every profile, direction and topology', () => {
    assert.deepEqual(parseQualityOptions([]), { windowSeconds: 60, rampupSeconds: 15, profiles: ['slow-3g', 'lossy', 'step'], directions: ['uplink', 'downlink'], topologies: ['sfu', 'p2p'], trace: false });
    assert.equal((parseQualityOptions(['--trace']) as { trace: boolean }).trace, true);
    assert.equal(parseQualityOptions(['--help']), 'help');
    assert.deepEqual(parseQualityOptions(['--profiles', 'step,slow-3g', '--topologies', 'p2p']), {
      ...(parseQualityOptions([]) as object),
      profiles: ['step', 'slow-3g'],
      topologies: ['p2p'],
    });
    assert.throws(() => parseQualityOptions(['--profiles', 'slow-4g']), /--profiles/);
    assert.throws(() => parseQualityOptions(['--window', '0']), /--window/);
    assert.throws(() => parseQualityOptions(['--bogus']));
  });

  it('step: 2000 kbit/s, 300 from a third of the window, 2000 from two thirds', () => {
    assert.deepEqual(scheduleFor('step', 60_000), {
      initial: { rateKbit: 2000 },
      changes: [
        { atMs: 20_000, shape: { rateKbit: 300 }, label: 'down' },
        { atMs: 40_000, shape: { rateKbit: 2000 }, label: 'up' },
      ],
    });
    assert.deepEqual(scheduleFor('slow-3g', 60_000), { initial: { rateKbit: 400, rttMs: 400, lossPercent: 2 }, changes: [] });
  });

  it('the table puts SFU and P2P side by side; failed and missing cases show as such', () => {
    const table = resultsTable(
      [
        { direction: 'uplink', profile: 'slow-3g', topology: 'sfu', figures: { frozenSecondsPerMinute: 1.234, freezeCount: 2, longestFreezeMs: 456.7, meanHeight: 359.6, fps: 24.96, frames: 100 } },
        { direction: 'uplink', profile: 'slow-3g', topology: 'p2p', error: 'boom' },
      ],
      [
        { direction: 'uplink', profile: 'slow-3g' },
        { direction: 'downlink', profile: 'slow-3g' },
      ],
    );
    assert.deepEqual(table.split('\n'), [
      '| direction | profile | frozen s/min SFU | frozen s/min P2P | freezes SFU | freezes P2P | longest ms SFU | longest ms P2P | mean height SFU | mean height P2P | fps SFU | fps P2P |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      '| uplink | slow-3g | 1.23 | failed | 2 | failed | 457 | failed | 360 | failed | 25.0 | failed |',
      '| downlink | slow-3g | - | - | - | - | - | - | - | - | - | - |',
    ]);
  });
});
