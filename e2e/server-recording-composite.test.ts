/**
 * Server recording in `composite` mode end to end (docs/recording.md): three Chromium
 * participants in an SFU room, each publishing through the SDK a canvas of its own colour and a
 * WebAudio tone of its own frequency (one of them flashes white as its tone beeps), recorded from
 * the SDK with `room.startRecording({ mode: 'composite' })`. After the stop the recording goes
 * processing -> ready with one composite file next to the per-track ones: VP8 + Opus of the
 * recording's length, decoding cleanly, every tile in its participant's colour, every tone in the
 * mix, and the flash still within 60 ms of its beep.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { beepTimes, flashTimes, pairOnsets, toneLevelDb } from './harness/av-sync.ts';
import { joinFlashBeep, FLASH_PERIOD_SECONDS } from './harness/flash-beep-page.ts';
import type { ParleyWindow } from './harness/participant.ts';
import { download, recordToken, until, waitFinished } from './harness/recordings-api.ts';
import { decodeErrors, probe } from '../packages/server/test/media-tools.ts';

const exec = promisify(execFile);
const RECORD_SECONDS = 15;
const SYNC_MS = 60;
const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-composite-'));
const env = useCallEnvironment({ recording: { directory: join(dir, 'store') } });
after(() => rm(dir, { recursive: true, force: true }));

const PEOPLE = [
  { identity: 'flasher', colour: [200, 0, 0], toneHz: 1000, flash: true },
  { identity: 'green', colour: [0, 180, 0], toneHz: 400, flash: false },
  { identity: 'blue', colour: [0, 0, 200], toneHz: 600, flash: false },
] as const;
/** A frequency nobody sends: the mix's floor there. */
const ABSENT_HZ = 2500;

interface CompositeManifest {
  mode: string;
  composite?: { file: string; durationSeconds: number; encodeSeconds: number; width: number; height: number; tracks: Array<{ participant: string; kind: string; offsetSeconds: number; tile?: { x: number; y: number; width: number; height: number } }> };
  compositeError?: string;
}

/** The mean RGB of the middle half of `tile` in the frame at `seconds`. */
async function tileColour(file: string, seconds: number, tile: { x: number; y: number; width: number; height: number }): Promise<number[]> {
  const crop = `crop=${tile.width / 2}:${tile.height / 2}:${tile.x + tile.width / 4}:${tile.y + tile.height / 4}`;
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-ss', seconds.toFixed(3), '-i', file, '-frames:v', '1', '-vf', `${crop},scale=1:1:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout];
}

describe('server recording (composite)', () => {
  test(`3 Chromium publishers (colour canvases, distinct tones, one flashing as it beeps), ~${RECORD_SECONDS} s composite from the SDK: processing -> ready; VP8 + Opus, duration within 1 s, clean decode; each tile its colour, each tone in the mix; flash and beep within ${SYNC_MS} ms`, async () => {
    const room = 'composite-1';
    const pages = [];
    for (const person of PEOPLE) {
      pages.push(await joinFlashBeep(env.chromium, env.server.url, room, person.identity, { colour: `rgb(${person.colour.join(',')})`, toneHz: person.toneHz, flash: person.flash, grants: { canRecord: person.flash } }));
    }
    await until('everyone publishing camera and microphone to the SFU', async () => {
      const { tracks } = await env.server.media.timeline(room);
      return tracks.filter((t) => t.firstPacketAt !== undefined).length === 2 * PEOPLE.length ? true : undefined;
    });
    const starter = pages[0]!;
    const started = await starter.evaluate(() => (window as unknown as ParleyWindow).__parley.room.startRecording({ mode: 'composite' }), undefined);
    const startedAt = Date.now();
    assert.equal(started.mode, 'composite');
    assert.match(started.id, /^rec_[0-9a-f]{24}$/);
    await new Promise((resolve) => setTimeout(resolve, RECORD_SECONDS * 1000));
    await starter.evaluate((id) => (window as unknown as ParleyWindow).__parley.room.stopRecording(id), started.id);
    const stoppedAt = Date.now();
    const truth = (stoppedAt - startedAt) / 1000;
    const token = await recordToken(room);
    const seen: string[] = [];
    const listed = await waitFinished(env.server.url, room, token, started.id, 120_000, seen);
    const readyAfter = (Date.now() - stoppedAt) / 1000;
    assert.equal(listed.status, 'ready', listed.error);
    assert.equal(listed.mode, 'composite');
    assert.deepEqual(seen, ['processing', 'ready'], 'processing while the composite is made, then ready');
    const manifest = JSON.parse(await readFile(await download(env.server.url, listed, token, 'manifest.json', dir), 'utf8')) as CompositeManifest;
    assert.ok(manifest.composite, `a composite was made: ${manifest.compositeError}`);
    assert.equal(listed.files.filter((f) => f.name.startsWith('track-')).length, 2 * PEOPLE.length, 'the per-track files are there too');
    const file = await download(env.server.url, listed, token, manifest.composite.file, dir);
    console.log(`${started.id}: truth ${truth.toFixed(2)} s; ready ${readyAfter.toFixed(1)} s after the stop; composite ${manifest.composite.width}x${manifest.composite.height} ${manifest.composite.durationSeconds} s encoded in ${manifest.composite.encodeSeconds.toFixed(1)} s; offsets ${manifest.composite.tracks.map((t) => `${t.participant}/${t.kind} ${t.offsetSeconds.toFixed(3)}`).join(', ')}`);

    const probed = await probe(file);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - truth) < 1, `composite ${probed.durationSeconds} s, truth ${truth.toFixed(2)} s`);
    assert.equal(await decodeErrors(file), '', 'ffmpeg -v error -i FILE -f null - prints nothing');

    // The flasher's flashes in its tile, its beeps through a band-pass at its tone: one file, one clock.
    const flasherTile = manifest.composite.tracks.find((t) => t.participant === 'flasher' && t.kind === 'video')?.tile;
    assert.ok(flasherTile);
    const flashes = await flashTimes(file, flasherTile);
    const report = pairOnsets(flashes, await beepTimes(file, PEOPLE[0].toneHz), (FLASH_PERIOD_SECONDS * 1000) / 2);
    console.log(`composite sync: flashes ${flashes.length}, pairs ${report.pairs.length}; beep - flash (ms): ${report.pairs.map((p) => p.offsetMs.toFixed(0)).join(' ')}; max |offset| ${report.maxAbsOffsetMs.toFixed(1)} ms, median ${report.medianOffsetMs.toFixed(1)} ms`);
    assert.ok(flashes.length >= Math.floor(truth / FLASH_PERIOD_SECONDS) - 2, `${flashes.length} flashes in ${truth.toFixed(1)} s`);
    assert.deepEqual(report.unpairedFlashes, [], 'every flash has its beep');
    assert.ok(report.maxAbsOffsetMs <= SYNC_MS, `worst ${report.maxAbsOffsetMs.toFixed(1)} ms`);

    // Mid-file, half a period after a flash (the flasher's tile in its own colour): each tile's colour.
    const middle = flashes.reduce((best, at) => (Math.abs(at - truth / 2) < Math.abs(best - truth / 2) ? at : best), flashes[0]!) + FLASH_PERIOD_SECONDS / 2;
    for (const person of PEOPLE) {
      const tile = manifest.composite.tracks.find((t) => t.participant === person.identity && t.kind === 'video')?.tile;
      assert.ok(tile, `${person.identity} has a tile`);
      const colour = await tileColour(file, middle, tile);
      console.log(`${person.identity} tile at ${JSON.stringify(tile)}, ${middle.toFixed(2)} s: rgb(${colour.join(',')}), sent rgb(${person.colour.join(',')})`);
      // The canvas's RGB goes through the browser's and ffmpeg's YUV conversions (which differ in
      // range: rgb(0,180,0) came back as rgb(1,225,0)), so the tile is told by its hue: the
      // participant's channel well above the other two.
      const channel = person.colour.findIndex((value) => value > 0);
      const others = colour.filter((_, i) => i !== channel);
      assert.ok(colour[channel]! > 120 && others.every((value) => value < colour[channel]! - 80), `${person.identity}'s tile: rgb(${colour.join(',')}) is not the hue of rgb(${person.colour.join(',')})`);
    }
    // Every voice in the mix: its tone stands well above a frequency nobody sends.
    const floor = await toneLevelDb(file, ABSENT_HZ);
    for (const person of PEOPLE) {
      const level = await toneLevelDb(file, person.toneHz);
      console.log(`${person.identity}'s ${person.toneHz} Hz: ${level.toFixed(1)} dB (floor at ${ABSENT_HZ} Hz: ${floor.toFixed(1)} dB)`);
      assert.ok(level > floor + 20, `${person.identity}'s tone ${level.toFixed(1)} dB against ${floor.toFixed(1)} dB`);
    }
    await Promise.all(pages.map((page) => page.close()));
  });
});
