import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { i420Size } from '../../packages/server/src/mcu/video/i420.ts';
import { Vp8RtpStream } from '../../packages/server/src/mcu/video/vp8-packetizer.ts';
import { figuresTable, glassToGlass, ratioLines, syntheticCell, type CaseFigures } from '../mcu/figures.ts';
import { cameraLoop, cameraPicture, LOOP_FRAMES, noiseTile, rgbToYuv } from '../mcu/synthetic-picture.ts';

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

  test('a case with synthetic participants says how many, their CPU and download in a cell of its own; one without, "-"', () => {
    const base: CaseFigures = { topology: 'mcu', size: 8, serverCpuPercent: 90, downloadKbps: { median: 700, p90: 700, n: 1, max: 700 }, uploadKbps: { median: 680, p90: 680, n: 2 }, glassToGlassMs: { median: 250, p90: 300, n: 19 }, missedFlashes: 0, flashes: 19, framesPerSecond: { median: 15, p90: 15, n: 1 } };
    assert.equal(syntheticCell(base), '-');
    const withSynthetic: CaseFigures = { ...base, synthetic: { count: 6, cpuPercent: 31.25, downloadKbps: { median: 690.4, p90: 700, n: 6 }, uploadKbps: { median: 540, p90: 545, n: 6 }, framesPerSecond: { median: 15, p90: 15, n: 6 } } };
    assert.equal(syntheticCell(withSynthetic), '6: 31.3 % of a core; download 690 kbit/s (median)');
    const [header, , row] = figuresTable([withSynthetic]).split('\n');
    assert.equal(header!.split('|').length, row!.split('|').length, 'as many cells as columns');
    assert.match(row!, /\| 6: 31\.3 % of a core; download 690 kbit\/s \(median\) \|$/);
  });
});

describe('bench:mcu synthetic cameras', () => {
  test('colours convert as BT.601 limited range: white, black and a saturated red', () => {
    assert.deepEqual(rgbToYuv([255, 255, 255]), { y: 235, u: 128, v: 128 });
    assert.deepEqual(rgbToYuv([0, 0, 0]), { y: 16, u: 128, v: 128 });
    assert.deepEqual(rgbToYuv([255, 0, 0]), { y: 81, u: 90, v: 240 });
  });

  test('a picture is I420 of the size asked: luma of the colour under faint noise, never near white; chroma flat', () => {
    const tile = noiseTile(1);
    const picture = cameraPicture(64, 36, [200, 160, 20], tile, 0);
    assert.equal(picture.length, i420Size(64, 36));
    const luma = picture.subarray(0, 64 * 36);
    const colour = rgbToYuv([200, 160, 20]).y;
    // 0.75 of the colour plus 0.25 of noise between 16 and 235.
    assert.ok(Math.min(...luma) >= Math.floor(0.75 * colour + 4) && Math.max(...luma) <= Math.ceil(0.75 * colour + 59), `luma ${Math.min(...luma)}-${Math.max(...luma)}`);
    assert.ok(Math.max(...luma) < 200, 'darker than the flash detector\'s white');
    assert.ok(new Set(luma).size > 20, 'textured');
    assert.equal(new Set(picture.subarray(64 * 36, 64 * 36 + 32 * 18)).size, 1, 'U flat');
    assert.equal(new Set(picture.subarray(64 * 36 + 32 * 18)).size, 1, 'V flat');
  });

  test('the noise moves 4 px right and 2 down per frame and the loop closes after 32 frames', () => {
    const tile = noiseTile(7);
    assert.deepEqual(noiseTile(7), tile, 'the same seed, the same tile');
    assert.notDeepEqual(noiseTile(8), tile);
    const first = cameraPicture(256, 144, [40, 60, 200], tile, 0);
    const next = cameraPicture(256, 144, [40, 60, 200], tile, 1);
    // Pixel (x, y) of frame 1 is pixel (x + 4, y + 2) of frame 0.
    assert.equal(next[10 * 256 + 20], first[12 * 256 + 24]);
    assert.equal(next[100 * 256 + 200], first[102 * 256 + 204]);
    assert.equal(LOOP_FRAMES, 32);
    assert.deepEqual(cameraPicture(256, 144, [40, 60, 200], tile, LOOP_FRAMES), first);
    const loop = cameraLoop(64, 36, [40, 60, 200], 3);
    assert.equal(loop.length, LOOP_FRAMES);
    assert.notDeepEqual(loop[0], loop[1]);
  });

  test('a VP8 stream numbers packets and pictures on from frame to frame, the marker on each frame\'s last packet', () => {
    const stream = new Vp8RtpStream(0x1234_5678, 96);
    const big = stream.packets(Buffer.alloc(3000, 1), 90_000);
    const small = stream.packets(Buffer.alloc(100, 2), 96_000);
    assert.equal(big.length, 3);
    assert.equal(small.length, 1);
    const sequences = [...big, ...small].map((p) => p.readUInt16BE(2));
    for (let i = 1; i < sequences.length; i++) assert.equal(sequences[i], (sequences[i - 1]! + 1) & 0xffff);
    assert.deepEqual([...big, ...small].map((p) => (p[1]! & 0x80) !== 0), [false, false, true, true]);
    assert.deepEqual([...big, ...small].map((p) => p[1]! & 0x7f), [96, 96, 96, 96]);
    assert.equal(small[0]!.readUInt32BE(8), 0x1234_5678);
    assert.equal(small[0]!.readUInt32BE(4), 96_000);
    const pictureId = (packet: Buffer) => packet.readUInt16BE(14) & 0x7fff;
    assert.equal(pictureId(big[2]!), pictureId(big[0]!));
    assert.equal(pictureId(small[0]!), (pictureId(big[0]!) + 1) & 0x7fff);
  });
});
