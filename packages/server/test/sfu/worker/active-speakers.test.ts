import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActiveSpeakerDetector } from '../../../src/sfu/worker/active-speakers.ts';

describe('ActiveSpeakerDetector', () => {
  const speak = (detector: ActiveSpeakerDetector, participant: string, level: number, packets = 50) => {
    for (let i = 0; i < packets; i++) detector.onLevel(participant, level);
  };

  test('a loud participant becomes active, a silent one does not; the list is reported only when it changes', () => {
    const detector = new ActiveSpeakerDetector();
    assert.equal(detector.evaluate(), undefined, 'nobody, no change');
    speak(detector, 'alice', 30);
    speak(detector, 'bob', 127);
    assert.deepEqual(detector.evaluate(), ['alice']);
    speak(detector, 'alice', 30);
    speak(detector, 'bob', 127);
    assert.equal(detector.evaluate(), undefined, 'same speakers: nothing new');
    speak(detector, 'alice', 127);
    assert.equal(detector.evaluate(), undefined, 'one quiet window is smoothed over');
    speak(detector, 'alice', 127);
    assert.deepEqual(detector.evaluate(), [], 'alice stopped talking');
  });

  test('speech threshold: level 50 (-50 dBov) is speech, 51 is not', () => {
    const detector = new ActiveSpeakerDetector();
    speak(detector, 'at', 50);
    speak(detector, 'below', 51);
    assert.deepEqual(detector.evaluate(), ['at']);
  });

  test('loudest first, and the order follows who talks', () => {
    const detector = new ActiveSpeakerDetector();
    speak(detector, 'alice', 10);
    speak(detector, 'bob', 10, 6);
    speak(detector, 'bob', 120, 4);
    assert.deepEqual(detector.evaluate(), ['alice', 'bob']);
    speak(detector, 'alice', 120);
    speak(detector, 'bob', 10);
    assert.deepEqual(detector.evaluate(), ['bob']);
  });

  test('forget drops a participant at once', () => {
    const detector = new ActiveSpeakerDetector();
    speak(detector, 'alice', 20);
    speak(detector, 'bob', 20);
    assert.deepEqual(detector.evaluate(), ['alice', 'bob']);
    detector.forget('alice');
    speak(detector, 'bob', 20);
    assert.deepEqual(detector.evaluate(), ['bob']);
    assert.equal(detector.evaluate(), undefined, 'and does not come back');
  });
});
