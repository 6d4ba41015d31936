import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heldBack, RestartSchedule, type EncoderSample } from '../../src/p2p/encoder-watch.ts';

// The case measured on a busy machine: 320x180 at ~140 kbit/s of a 720p camera, 1.3 Mbit/s estimated.
const stuck: EncoderSample = { limitation: 'bandwidth', frameHeight: 180, expectedHeight: 720, sendingKbps: 140, availableKbps: 1312, maxBitrateKbps: 2500 };

describe('heldBack', () => {
  test('a low resolution "for bandwidth" with an estimate of several times the send rate is held back', () => {
    assert.equal(heldBack(stuck), true);
  });

  test('the full resolution is not held back, even reported as limited by bandwidth (Chromium does)', () => {
    assert.equal(heldBack({ ...stuck, frameHeight: 720, sendingKbps: 700, availableKbps: 5000 }), false);
    assert.equal(heldBack({ ...stuck, frameHeight: 719 }), false);
  });

  test('a resolution the app lowered (scaleResolutionDownBy) is the one expected', () => {
    assert.equal(heldBack({ ...stuck, frameHeight: 480, expectedHeight: 480, sendingKbps: 400 }), false);
  });

  test('an estimate without room, or a cap the encoder already reaches, leaves the encoder alone', () => {
    assert.equal(heldBack({ ...stuck, availableKbps: 400, sendingKbps: 100 }), false, 'under 500 kbit/s');
    assert.equal(heldBack({ ...stuck, sendingKbps: 500 }), false, 'under 3x what it sends');
    assert.equal(heldBack({ ...stuck, maxBitrateKbps: 300 }), false, 'capped by the low profile');
  });

  test('other reasons, or nothing known, are not held back', () => {
    assert.equal(heldBack({ ...stuck, limitation: 'cpu' }), false);
    assert.equal(heldBack({ ...stuck, limitation: 'none' }), false);
    assert.equal(heldBack({ ...stuck, limitation: undefined }), false, 'Firefox reports no limitation');
    assert.equal(heldBack({ ...stuck, frameHeight: undefined }), false);
    assert.equal(heldBack({ ...stuck, availableKbps: undefined }), false);
  });
});

describe('RestartSchedule', () => {
  test('restarts on the second sample in a row held back, not the first', () => {
    const schedule = new RestartSchedule();
    assert.equal(schedule.observe(true, 0), false);
    assert.equal(schedule.observe(true, 1000), true);
  });

  test('a held-back sample between free ones never restarts', () => {
    const schedule = new RestartSchedule();
    const restarts = [true, false, true, false, true].filter((held, i) => schedule.observe(held, i * 1000)).length;
    assert.equal(restarts, 0);
  });

  test('restarts that do not help are retried after 2, 4, 8 ... s, at most every 30 s', () => {
    const schedule = new RestartSchedule();
    const at: number[] = [];
    for (let now = 0; now <= 120_000; now += 1000) if (schedule.observe(true, now)) at.push(now);
    assert.deepEqual(at, [1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000]);
  });

  test('a sample that is not held back clears the wait', () => {
    const schedule = new RestartSchedule();
    schedule.observe(true, 0);
    assert.equal(schedule.observe(true, 1000), true);
    assert.equal(schedule.observe(true, 2000), false, 'within the 2 s wait');
    assert.equal(schedule.observe(false, 3000), false);
    assert.equal(schedule.observe(true, 4000), false, 'the first held-back sample again');
    assert.equal(schedule.observe(true, 5000), true, 'no wait left over');
  });
});
