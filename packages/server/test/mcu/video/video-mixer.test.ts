/**
 * The video mixer with real ffmpeg (no browser): two publishers' VP8 (solid red and solid blue,
 * made by ffmpeg's libvpx) go in as RTP; what comes out for each listener is decoded again by
 * ffmpeg and its pixels read. A publisher sees the other and never itself; a listener who is not
 * in the picture sees both, on a grid encoded once for all such listeners; a voice without video
 * is a placeholder with its initials and name.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { IvfReader, ivfFileHeader, ivfFrame } from '../../../src/mcu/video/ivf.ts';
import { LiveFrameAssembler } from '../../../src/mcu/video/live-frames.ts';
import { VideoMixer } from '../../../src/mcu/video/video-mixer.ts';
import type { GridTier } from '../../../src/mcu/video/grid.ts';
import { isVp8Keyframe } from '../../../src/mcu/video/ffmpeg-video.ts';
import { placeTiles } from '../../../src/mcu/video/grid-layout.ts';
import { avatarColour, placeholderGeometry, PLACEHOLDER_BACKGROUND } from '../../../src/mcu/video/placeholder.ts';
import { rtpPacket, vp8Payloads } from '../../../src/mcu/video/vp8-packetizer.ts';
import type { TrackDescription } from '../../../src/recording/tracks/record-format.ts';

function run(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

/** Two seconds of one colour as VP8 frames (a keyframe every 15). */
async function colourFrames(colour: string): Promise<Buffer[]> {
  const ivf = await run(['-f', 'lavfi', '-i', `color=c=${colour}:s=320x180:r=15`, '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-g', '15', '-f', 'ivf', 'pipe:1']);
  return new IvfReader().push(ivf).map((frame) => frame.data);
}

/** The RGB of the decoded grid's pixel at (x, y) of its last frame. */
async function decodeLast(frames: Buffer[], points: Array<[number, number]>): Promise<Array<[number, number, number]>> {
  const ivf = Buffer.concat([ivfFileHeader('vp8', 640, 360), ...frames.map((frame, i) => ivfFrame(frame, i * 6000))]);
  const raw = await run(['-f', 'ivf', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], ivf);
  const size = 640 * 360 * 3;
  const last = raw.subarray(raw.length - size);
  return points.map(([x, y]) => [last[(y * 640 + x) * 3]!, last[(y * 640 + x) * 3 + 1]!, last[(y * 640 + x) * 3 + 2]!]);
}

/** The luma plane (limited range, as the mixer draws it) of the decoded grid's last frame. */
async function lastLuma(frames: Buffer[]): Promise<Buffer> {
  const ivf = Buffer.concat([ivfFileHeader('vp8', 640, 360), ...frames.map((frame, i) => ivfFrame(frame, i * 6000))]);
  // yuv420p as decoded, not `gray` (which stretches limited-range luma to full range).
  const raw = await run(['-f', 'ivf', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], ivf);
  const last = raw.subarray(raw.length - (640 * 360 * 3) / 2);
  return last.subarray(0, 640 * 360);
}

const describeTrack = (trackId: string, participant: string): TrackDescription => ({ trackId, participant, source: 'camera', kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90_000, rids: [] });
const isRed = ([r, g, b]: [number, number, number]) => r > 180 && g < 60 && b < 60;
const isBlue = ([r, g, b]: [number, number, number]) => b > 180 && r < 60 && g < 60;

const ONE_TIER: GridTier[] = [{ width: 640, height: 360, fps: 15, bitrateKbps: 300 }];

/**
 * A mixer (by default one 640x360 tier) whose grids are put together again per listener
 * (`frames`, keyframes counted; `tiers`: the tier of each frame, in order).
 */
function collectingMixer(maxGrids?: number, tiers: GridTier[] = ONE_TIER) {
  const received = new Map<string, LiveFrameAssembler>();
  const frames = new Map<string, Buffer[]>();
  const frameTiers = new Map<string, number[]>();
  const keyframes = new Map<string, number>();
  const keyframeRequests: string[] = [];
  const errors: string[] = [];
  const mixer = new VideoMixer({
    ffmpegPath: 'ffmpeg',
    tiers,
    keyframeSeconds: 4,
    ...(maxGrids !== undefined ? { maxGrids } : {}),
    send: (listener, packet, _arrival, tier) => {
      // Each grid has its own RTP numbering (the SFU worker makes one stream of them): one assembler per tier.
      const key = `${listener}/${tier}`;
      let assembler = received.get(key);
      if (!assembler) received.set(key, (assembler = new LiveFrameAssembler('vp8')));
      for (const frame of assembler.push(Buffer.from(packet), performance.now()).frames) {
        frames.set(listener, [...(frames.get(listener) ?? []), frame.data]);
        frameTiers.set(listener, [...(frameTiers.get(listener) ?? []), tier]);
        if (frame.keyframe) keyframes.set(listener, (keyframes.get(listener) ?? 0) + 1);
      }
    },
    requestKeyframe: (trackId) => keyframeRequests.push(trackId),
    onError: (message) => errors.push(message),
  });
  return { mixer, frames, frameTiers, keyframes, keyframeRequests, errors };
}

/** Two seconds of red (input 1) and blue (input 2) as RTP, a grid drawn after each frame; then waits for every listener's 20th grid frame. */
async function feedRedAndBlue(mixer: VideoMixer, frames: Map<string, Buffer[]>, listeners: string[]): Promise<void> {
  const [red, blue] = await Promise.all([colourFrames('red'), colourFrames('blue')]);
  let sequence = 1000;
  const start = Date.now();
  for (let i = 0; i < red.length; i++) {
    for (const [track, frame] of [[1, red[i]!], [2, blue[i]!]] as const) {
      const payloads = vp8Payloads(frame, i);
      payloads.forEach((payload, k) => mixer.receive(track, rtpPacket({ payloadType: 96, sequence: sequence++, timestamp: i * 6000, ssrc: track }, k === payloads.length - 1, payload), Date.now()));
    }
    mixer.tick(new Map());
    await new Promise((resolve) => setTimeout(resolve, 66));
  }
  // The encoders answer as they go: wait for the last grids.
  while (Date.now() - start < 10_000 && listeners.some((l) => (frames.get(l)?.length ?? 0) < 20)) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('VideoMixer (real ffmpeg)', () => {
  const { mixer, frames, keyframes, keyframeRequests, errors } = collectingMixer();
  after(() => mixer.close());

  test('each publisher sees the other and not itself; a listener outside the picture sees both', async () => {
    mixer.addInput(1, describeTrack('red-cam', 'red'));
    mixer.addInput(2, describeTrack('blue-cam', 'blue'));
    assert.deepEqual(keyframeRequests, ['red-cam', 'blue-cam'], 'a new input asks for a keyframe');
    // The first camera took the decoder started with the mixer; the second came before the next spare (`spare-pool.ts`).
    assert.deepEqual(mixer.decoderStarts, { warm: 1, cold: 1, died: 0 });
    for (const listener of ['red', 'blue', 'watcher']) mixer.setListener(listener, true);
    await feedRedAndBlue(mixer, frames, ['red', 'blue', 'watcher']);
    assert.equal(mixer.gridCount, 3, 'one grid per publisher (without itself) and one for the listener outside the picture');
    // Two tiles side by side: left (160, 180) and right (480, 180); one tile fills the picture.
    const [redSees] = await decodeLast(frames.get('red')!, [[320, 180]]);
    const [blueSees] = await decodeLast(frames.get('blue')!, [[320, 180]]);
    const [left, right] = await decodeLast(frames.get('watcher')!, [[160, 180], [480, 180]]);
    assert.ok(isBlue(redSees!), `red sees blue (${redSees})`);
    assert.ok(isRed(blueSees!), `blue sees red (${blueSees})`);
    assert.ok(isBlue(left!) || isBlue(right!), `the watcher sees blue (${left} ${right})`);
    assert.ok(isRed(left!) || isRed(right!), `the watcher sees red (${left} ${right})`);
    assert.deepEqual(errors, []);
  });

  test("a receiver's keyframe request is answered within a second, the grid going on without a gap (a second encoder takes over at its keyframe)", async () => {
    const before = keyframes.get('red') ?? 0;
    const framesBefore = frames.get('red')!.length;
    mixer.requestKeyframe('red');
    const start = Date.now();
    // Keep drawing: the encoders only answer pictures they are given.
    while (Date.now() - start < 3000 && (keyframes.get('red') ?? 0) === before) {
      mixer.tick(new Map());
      await new Promise((resolve) => setTimeout(resolve, 66));
    }
    const tookMs = Date.now() - start;
    assert.ok((keyframes.get('red') ?? 0) > before, 'a keyframe came for red');
    assert.ok(tookMs < 1000, `within a second (${tookMs} ms)`);
    const drawn = Math.round(tookMs / 66);
    assert.ok(frames.get('red')!.length - framesBefore >= drawn - 2, `no frame missing across the switch (${frames.get('red')!.length - framesBefore} frames for ~${drawn} drawn)`);
  });

  test("a voice without video is a placeholder: the initials of its name on a disc of its colour, the name under it", async () => {
    const voices = new Map([['carol', 'Carol Danvers']]);
    // Red's grid: blue and carol side by side (sorted by identity), carol on the right.
    const tile = placeTiles([{ participant: 'blue', input: 2, screen: false }, { participant: 'carol', input: undefined, screen: false }], undefined, 640, 360)[1]!;
    const { cx, cy, radius, nameY } = placeholderGeometry(tile.width, tile.height);
    const at = (luma: Buffer, x: number, y: number) => luma[(tile.y + y) * 640 + tile.x + x]!;
    const lit = (luma: Buffer, x0: number, y0: number, x1: number, y1: number) => {
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (at(luma, x, y) > 180) count++;
      return count;
    };
    const disc = avatarColour('carol').y;
    const start = Date.now();
    let luma: Buffer | undefined;
    const shown = (l: Buffer) => Math.abs(at(l, cx - radius + 4, cy) - disc) <= 8 && lit(l, cx - radius, cy - radius, cx + radius, cy + radius) > 30;
    // The text is drawn in the background (an ffmpeg run): the bare tile first, then the placeholder.
    while (Date.now() - start < 10_000 && !(luma && shown(luma))) {
      for (let i = 0; i < 8; i++) {
        mixer.tick(voices);
        await new Promise((resolve) => setTimeout(resolve, 66));
      }
      luma = await lastLuma(frames.get('red')!);
    }
    assert.ok(luma, 'a grid came');
    console.log(`carol's placeholder in red's grid after ${Date.now() - start} ms: disc luma ${at(luma, cx - radius + 4, cy)} (expected ${disc}), corner ${at(luma, 4, 4)}, ${lit(luma, cx - radius, cy - radius, cx + radius, cy + radius)} bright pixels on the disc, ${lit(luma, 0, nameY! - 10, tile.width, nameY! + 10)} on the name's line`);
    assert.ok(Math.abs(at(luma, cx - radius + 4, cy) - disc) <= 8, "the disc in carol's colour");
    assert.ok(Math.abs(at(luma, 4, 4) - PLACEHOLDER_BACKGROUND.y) <= 8, "the tile's corner is the background");
    assert.ok(lit(luma, cx - radius, cy - radius, cx + radius, cy + radius) > 30, 'the initials on the disc');
    assert.ok(lit(luma, 0, nameY! - 10, tile.width, nameY! + 10) > 30, 'the name under it');
    assert.deepEqual(errors, []);
  });
});

describe('VideoMixer: the grid budget (`mcu.maxGrids`)', () => {
  const { mixer, frames, errors } = collectingMixer(2);
  after(() => mixer.close());

  test('two publishers and an audience with a budget of 2: one publisher keeps its own grid, the other shares the audience grid, itself in it', async () => {
    mixer.addInput(1, describeTrack('red-cam', 'red'));
    mixer.addInput(2, describeTrack('blue-cam', 'blue'));
    for (const listener of ['red', 'blue', 'watcher']) mixer.setListener(listener, true);
    await feedRedAndBlue(mixer, frames, ['red', 'blue', 'watcher']);
    assert.equal(mixer.gridCount, 2, 'two grids encoded, not three');
    // 'blue' comes first (no grid yet, so by name): its own grid shows red alone.
    const [blueSees] = await decodeLast(frames.get('blue')!, [[320, 180]]);
    assert.ok(isRed(blueSees!), `blue sees red alone (${blueSees})`);
    const [left, right] = await decodeLast(frames.get('red')!, [[160, 180], [480, 180]]);
    assert.ok(isBlue(left!) && isRed(right!), `red sees the shared grid: blue, then itself (${left} ${right})`);
    assert.deepEqual(frames.get('red')!.at(-1), frames.get('watcher')!.at(-1), 'the very same frames as the audience');
    assert.deepEqual(errors, []);
  });
});

/** A VP8 keyframe's picture size (RFC 6386 9.1: 14 bits each after the start code). */
function keyframeSize(frame: Buffer): string {
  return `${frame.readUInt16LE(6) & 0x3fff}x${frame.readUInt16LE(8) & 0x3fff}`;
}

/** Ticks the mixer (red and blue still, at 15 fps) until `done` or `timeoutMs`. */
async function tickUntil(mixer: VideoMixer, done: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs && !done()) {
    mixer.tick(new Map());
    await new Promise((resolve) => setTimeout(resolve, 33));
  }
}

describe('VideoMixer: tiers (a grid per layout and tier, a listener moved at the new tier\'s keyframe)', () => {
  const tiers: GridTier[] = [
    { width: 320, height: 180, fps: 15, bitrateKbps: 200 },
    { width: 640, height: 360, fps: 30, bitrateKbps: 500 },
  ];
  const { mixer, frames, frameTiers, errors } = collectingMixer(undefined, tiers);
  after(() => mixer.close());

  test('two listeners of one layout on two tiers: two encodes of it, each at its tier\'s size and rate', async () => {
    mixer.addInput(1, describeTrack('red-cam', 'red'));
    mixer.addInput(2, describeTrack('blue-cam', 'blue'));
    for (const listener of ['low', 'high']) mixer.setListener(listener, true);
    mixer.setTier('high', 1);
    await feedRedAndBlue(mixer, frames, ['low', 'high']);
    const summary = mixer.gridSummary();
    assert.deepEqual(summary.map(({ key, receivers }) => [key, receivers]).sort(), [['0:', ['low']], ['1:', ['high']]], 'the shared layout at tier 0 for one, at tier 1 for the other');
    assert.equal(keyframeSize(frames.get('low')![0]!), '320x180', "low's first frame is a 320x180 keyframe");
    assert.equal(keyframeSize(frames.get('high')![0]!), '640x360', "high's first frame is a 640x360 keyframe");
    assert.deepEqual(new Set(frameTiers.get('low')), new Set([0]));
    assert.deepEqual(new Set(frameTiers.get('high')), new Set([1]));
    assert.deepEqual(errors, []);
  });

  test("a listener's tier switch: its old grid until the new tier's keyframe, then only the new one; the grid nobody receives stops", async () => {
    const before = frames.get('low')!.length;
    mixer.setTier('low', 1);
    // The worker asks this way (and again every 200 ms while it waits).
    mixer.requestKeyframe('low', 1);
    await tickUntil(mixer, () => mixer.deliveredTier('low') === 1 && mixer.gridCount === 1, 5_000);
    await tickUntil(mixer, () => false, 300);
    const after = frames.get('low')!.slice(before);
    const tiersAfter = frameTiers.get('low')!.slice(before);
    const first = tiersAfter.indexOf(1);
    assert.ok(first >= 0, 'frames of tier 1 came');
    assert.ok(isVp8Keyframe(after[first]!), "the new tier's first frame is a keyframe");
    assert.equal(keyframeSize(after[first]!), '640x360');
    assert.ok(tiersAfter.slice(first).every((tier) => tier === 1), `nothing of tier 0 after the switch (${tiersAfter.join('')})`);
    assert.equal(mixer.gridCount, 1, 'one grid left: both on tier 1 share it');
    assert.deepEqual(mixer.gridSummary()[0]!.receivers, ['high', 'low']);
    assert.deepEqual(errors, []);
  });
});

/** Two seconds of one colour as H.264 access units (Annex B, constrained baseline as Chromium sends it, a keyframe every 15, one slice per frame). */
async function h264ColourFrames(colour: string): Promise<Buffer[]> {
  const stream = await run(['-f', 'lavfi', '-i', `color=c=${colour}:s=320x180:r=15`, '-t', '2', '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '15', '-threads', '1', '-f', 'h264', 'pipe:1']);
  const starts: number[] = [];
  for (let i = 0; i + 3 < stream.length; i++) if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push(i);
  const units: Buffer[] = [];
  let unit: Buffer[] = [];
  starts.forEach((start, k) => {
    const nal = stream.subarray(start + 3, k + 1 < starts.length ? starts[k + 1]! - (stream[starts[k + 1]! - 1] === 0 ? 1 : 0) : stream.length);
    unit.push(nal);
    const type = nal[0]! & 0x1f;
    if (type === 1 || type === 5) [units[units.length], unit] = [Buffer.concat(unit.map((n) => Buffer.concat([Buffer.from([0, 0, 0, 1]), n]))), []];
  });
  return units;
}

/** One access unit as RTP payloads (RFC 6184, packetization mode 1): a NAL unit per packet, FU-A past 1100 bytes. */
function h264Payloads(accessUnit: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  for (const nal of accessUnit.toString('latin1').split('\x00\x00\x00\x01').filter((n) => n.length > 0).map((n) => Buffer.from(n, 'latin1'))) {
    if (nal.length <= 1100) {
      payloads.push(nal);
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    for (let offset = 1; offset < nal.length; offset += 1100) {
      const header = (offset === 1 ? 0x80 : 0) | (offset + 1100 >= nal.length ? 0x40 : 0) | (nal[0]! & 0x1f);
      payloads.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(offset, offset + 1100)]));
    }
  }
  return payloads;
}

describe('VideoMixer: an H.264 publisher', () => {
  const { mixer, frames, errors } = collectingMixer();
  after(() => mixer.close());

  test('is decoded into the grid like VP8 (a room that prefers H.264 keeps it for a grid)', async () => {
    mixer.addInput(3, { ...describeTrack('green-cam', 'green'), codec: 'h264', payloadType: 102 });
    mixer.setListener('watcher', true);
    const green = await h264ColourFrames('green');
    assert.ok(green.length >= 28, `ffmpeg made two seconds of frames (${green.length})`);
    let sequence = 0;
    const start = Date.now();
    for (let i = 0; i < green.length; i++) {
      const payloads = h264Payloads(green[i]!);
      payloads.forEach((payload, k) => mixer.receive(3, rtpPacket({ payloadType: 102, sequence: sequence++, timestamp: i * 6000, ssrc: 3 }, k === payloads.length - 1, payload), Date.now()));
      mixer.tick(new Map());
      await new Promise((resolve) => setTimeout(resolve, 66));
    }
    while (Date.now() - start < 10_000 && (frames.get('watcher')?.length ?? 0) < 20) await new Promise((resolve) => setTimeout(resolve, 50));
    const [seen] = await decodeLast(frames.get('watcher')!, [[320, 180]]);
    // ffmpeg's `green` is (0, 128, 0).
    assert.ok(seen![1] > 90 && seen![0] < 60 && seen![2] < 60, `the watcher sees the H.264 publisher's green (${seen})`);
    assert.deepEqual(errors, []);
  });

  test('AV1, which the mixer does not decode, is left out (no decoder, no error): its owner would be a placeholder', () => {
    mixer.addInput(4, { ...describeTrack('av1-cam', 'av1'), codec: 'av1', payloadType: 45 });
    mixer.receive(4, rtpPacket({ payloadType: 45, sequence: 1, timestamp: 0, ssrc: 4 }, true, Buffer.from([0x10, 0, 0])), Date.now());
    mixer.tick(new Map());
    assert.deepEqual(errors, []);
  });
});
