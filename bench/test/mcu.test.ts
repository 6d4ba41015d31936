import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { glassToGlass, ratioLines, type CaseFigures } from '../mcu/figures.ts';

describe('bench:mcu figures', () => {
  test('each flash is matched to the first edge after it, within the window; a flash never shown is missed', () => {
    const flashes = [1000, 2000, 3000];
    const receiverA = [1180, 2150, 2160, 3900];
    const receiverB = [900, 2300];
    const { latencies, missed } = glassToGlass(flashes, [receiverA, receiverB], 800);
    // A: 180, 150, and 3900 is 900 ms after the third flash: missed. B: 900 precedes every flash, 2300 is the second's.
    assert.deepEqual(latencies, [180, 150, 300]);
    assert.equal(missed, 3);
  });

  test('ratios are MCU over SFU per room size, and the latency the mixer adds', () => {
    const base = { uploadKbps: { median: 500, p90: 500, n: 2 }, missedFlashes: 0, flashes: 10, framesPerSecond: { median: 15, p90: 15, n: 2 } };
    const cases: CaseFigures[] = [
      { ...base, topology: 'mcu', size: 4, serverCpuPercent: 60, downloadKbps: { median: 600, p90: 600, n: 3, max: 650 }, glassToGlassMs: { median: 300, p90: 350, n: 30 } },
      { ...base, topology: 'sfu', size: 4, serverCpuPercent: 10, downloadKbps: { median: 1200, p90: 1300, n: 3, max: 1300 }, glassToGlassMs: { median: 120, p90: 150, n: 30 } },
      { ...base, topology: 'mcu', size: 2, serverCpuPercent: 30, downloadKbps: { median: 500, p90: 500, n: 1, max: 500 }, glassToGlassMs: { median: 280, p90: 300, n: 10 } },
    ];
    assert.deepEqual(ratioLines(cases), ['room of 4, mcu/sfu: server CPU 6.00x, download per receiver 0.50x, glass to glass +180 ms (median)']);
    const faster = { ...cases[1]!, glassToGlassMs: { median: 400, p90: 450, n: 30 } };
    assert.match(ratioLines([cases[0]!, faster])[0]!, /glass to glass -100 ms/, 'a negative difference is signed once');
  });
});
