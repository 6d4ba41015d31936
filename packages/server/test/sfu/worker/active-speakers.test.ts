import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActiveSpeakerDetector, SPEAKER_WINDOW_MS } from '../../../src/sfu/worker/active-speakers.ts';

/** Opus packets per window at 20 ms each. */
const PACKETS = Math.round(SPEAKER_WINDOW_MS / 20);
const windowsIn = (ms: number) => Math.round(ms / SPEAKER_WINDOW_MS);

describe('ActiveSpeakerDetector', () => {
  /** One window of `participant`'s audio: `loud` of its packets at `level`, the rest silent. */
  const speak = (detector: ActiveSpeakerDetector, participant: string, level: number, loud = PACKETS) => {
    for (let i = 0; i < PACKETS; i++) detector.onLevel(participant, i < loud ? level : 127);
  };
  /** `ms` of windows, each with `each` spoken into it; every list the detector reported. */
  const run = (detector: ActiveSpeakerDetector, ms: number, each: () => void) => {
    const reported: string[][] = [];
    for (let i = 0; i < windowsIn(ms); i++) {
      each();
      const speakers = detector.evaluate();
      if (speakers) reported.push(speakers);
    }
    return reported;
  };

  test('a loud participant is active within 500 ms, a silent one is not; the list is reported only when it changes', () => {
    const detector = new ActiveSpeakerDetector();
    assert.equal(detector.evaluate(), undefined, 'nobody, no change');
    const talk = () => {
      speak(detector, 'alice', 30);
      speak(detector, 'bob', 127);
    };
    assert.deepEqual(run(detector, 500, talk), [['alice']]);
    assert.deepEqual(run(detector, 2000, talk), [], 'same speakers: nothing new');
  });

  test('a pause of one window is smoothed over; silence ends a speaker within 1 s', () => {
    const detector = new ActiveSpeakerDetector();
    run(detector, 2000, () => speak(detector, 'alice', 30));
    speak(detector, 'alice', 127);
    assert.equal(detector.evaluate(), undefined, 'one quiet window is smoothed over');
    speak(detector, 'alice', 30);
    detector.evaluate();
    assert.deepEqual(run(detector, 1000, () => speak(detector, 'alice', 127)), [[]], 'alice stopped talking');
  });

  test('speech threshold: level 50 (-50 dBov) is speech, 51 is not', () => {
    const detector = new ActiveSpeakerDetector();
    const reported = run(detector, 500, () => {
      speak(detector, 'at', 50);
      speak(detector, 'below', 51);
    });
    assert.deepEqual(reported.at(-1), ['at']);
  });

  test('loudest first', () => {
    const detector = new ActiveSpeakerDetector();
    const both = run(detector, 2000, () => {
      speak(detector, 'alice', 10);
      speak(detector, 'bob', 10, Math.round(0.7 * PACKETS));
    });
    assert.deepEqual(both.at(-1), ['alice', 'bob']);
  });

  test('a turn (one stops as another starts) is named within 750 ms wherever it falls in a window (the MCU enlarges that tile then)', () => {
    // A packet every 10 ms (the share is what counts, not the rate), windows judged every
    // SPEAKER_WINDOW_MS, the turn at each 10 ms of a window.
    const STEP = 10;
    const delays: number[] = [];
    for (let turnAt = 2000; turnAt < 2000 + SPEAKER_WINDOW_MS; turnAt += STEP) {
      const detector = new ActiveSpeakerDetector();
      let namedAt: number | undefined;
      for (let t = 0; t < turnAt + 2000 && namedAt === undefined; t += STEP) {
        detector.onLevel('alice', t < turnAt ? 10 : 127);
        detector.onLevel('bob', t < turnAt ? 127 : 10);
        const end = t + STEP;
        if (end % SPEAKER_WINDOW_MS === 0 && end > turnAt && detector.evaluate()?.[0] === 'bob') namedAt = end;
        else if (end % SPEAKER_WINDOW_MS === 0 && end <= turnAt) detector.evaluate();
      }
      delays.push(namedAt === undefined ? Infinity : namedAt - turnAt);
    }
    assert.ok(Math.max(...delays) <= 750, `bob named loudest ${Math.min(...delays)}-${Math.max(...delays)} ms after the turn (500-1000 ms with the 500 ms windows before)`);
  });

  test('forget drops a participant at once', () => {
    const detector = new ActiveSpeakerDetector();
    const talk = () => {
      speak(detector, 'alice', 20);
      speak(detector, 'bob', 20);
    };
    assert.deepEqual(run(detector, 1000, talk).at(-1), ['alice', 'bob']);
    detector.forget('alice');
    speak(detector, 'bob', 20);
    assert.deepEqual(detector.evaluate(), ['bob']);
    assert.equal(detector.evaluate(), undefined, 'and does not come back');
  });
});
