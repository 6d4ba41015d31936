/**
 * Audio/video sync of a server recording's per-track output (issue #13): a Chromium publisher
 * whose canvas flashes white at the instants its WebAudio oscillator beeps (both scheduled from
 * the AudioContext's clock, published through the SDK) is recorded in `tracks` mode; each flash
 * in the video file and its beep in the audio file, both placed on the manifest's clock, are
 * within 60 ms of each other over the whole recording.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { beepsOf, flashTimes, pairOnsets } from './harness/av-sync.ts';
import { joinFlashBeep, FLASH_PERIOD_SECONDS, FLASH_SECONDS } from './harness/flash-beep-page.ts';
import { api, download, recordToken, until, waitFinished, type ManifestEntry } from './harness/recordings-api.ts';
import { decodeProblems, frameAt, probe } from '../packages/server/test/media-tools.ts';

const RECORD_SECONDS = 20;
const SYNC_MS = 60;
const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-sync-'));
const env = useCallEnvironment({ recording: { directory: join(dir, 'store') } }, { firefox: false });
after(() => rm(dir, { recursive: true, force: true }));

describe('server recording sync (tracks)', () => {
  test(`a canvas flashing white as its WebAudio tone beeps, recorded ~${RECORD_SECONDS} s per track: VP8 and Opus, duration within 1 s, decodes, seeks to the middle; every flash has its beep within ${SYNC_MS} ms on the manifest's clock, one a second`, async () => {
    const room = 'sync-1';
    const page = await joinFlashBeep(env.chromium, env.server.url, room, 'flasher', { colour: '#202020', toneHz: 1000, flash: true });
    await until('the flasher publishing camera and microphone to the SFU', async () => {
      const { tracks } = await env.server.media.timeline(room);
      return tracks.filter((t) => t.firstPacketAt !== undefined).length === 2 ? true : undefined;
    });
    const token = await recordToken(room);
    const started = await api(env.server.url, 'POST', `/api/rooms/${room}/recordings`, token, { mode: 'tracks' });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const { id } = started.json as { id: string };
    const startedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, RECORD_SECONDS * 1000));
    assert.equal((await api(env.server.url, 'POST', `/api/rooms/${room}/recordings/${id}/stop`, token)).status, 200);
    const truth = (Date.now() - startedAt) / 1000;
    const listed = await waitFinished(env.server.url, room, token, id);
    assert.equal(listed.status, 'ready', listed.error);
    const manifest = JSON.parse(await readFile(await download(env.server.url, listed, token, 'manifest.json', dir), 'utf8')) as { tracks: ManifestEntry[] };
    const video = manifest.tracks.find((t) => t.kind === 'video');
    const audio = manifest.tracks.find((t) => t.kind === 'audio');
    assert.ok(video?.file && audio?.file && video.startNtpMs !== null && audio.startNtpMs !== null, `both tracks exported and placed on the sender-report clock: ${JSON.stringify(manifest.tracks)}`);

    const [videoFile, audioFile] = [await download(env.server.url, listed, token, video.file, dir), await download(env.server.url, listed, token, audio.file, dir)];
    for (const [file, expected] of [[videoFile, 'video:vp8'], [audioFile, 'audio:opus']] as const) {
      const probed = await probe(file);
      assert.deepEqual(probed.streams.map((st) => `${st.codec_type}:${st.codec_name}`), [expected]);
      assert.ok(Math.abs((probed.durationSeconds ?? 0) - truth) < 1, `${file}: ${probed.durationSeconds} s, truth ${truth.toFixed(2)} s`);
      assert.deepEqual(await decodeProblems(file), [], `${file} decodes without an error`);
    }
    assert.ok((await frameAt(videoFile, truth / 2)) > 0, 'seeking to the middle of the video gives a frame');
    // Each file's own times (seconds from its first frame) moved onto the manifest's clock.
    const flashes = (await flashTimes(videoFile)).map((at) => video.startNtpMs! / 1000 + at);
    const heard = await beepsOf(audioFile);
    const beeps = heard.beeps.map((at) => audio.startNtpMs! / 1000 + at);
    // A flash in the audio's last beep-length has its beep cut by the stop: not a sync failure.
    const audioEnd = audio.startNtpMs / 1000 + heard.audioEndSeconds;
    const report = pairOnsets(flashes.filter((at) => at <= audioEnd - FLASH_SECONDS), beeps, (FLASH_PERIOD_SECONDS * 1000) / 2);
    const origin = Math.min(video.startNtpMs, audio.startNtpMs) / 1000;
    console.log(`${id}: truth ${truth.toFixed(2)} s; video ${video.durationSeconds} s from ${(video.startNtpMs / 1000 - origin).toFixed(3)} s, audio ${audio.durationSeconds} s from ${(audio.startNtpMs / 1000 - origin).toFixed(3)} s`);
    console.log(`flashes ${flashes.length}, beeps ${beeps.length}, pairs ${report.pairs.length}; beep - flash (ms): ${report.pairs.map((p) => p.offsetMs.toFixed(0)).join(' ')}; max |offset| ${report.maxAbsOffsetMs.toFixed(1)} ms, median ${report.medianOffsetMs.toFixed(1)} ms`);
    // One flash a second over the file (the first and last second may hold a cut one).
    const expected = Math.min(video.durationSeconds ?? 0, audio.durationSeconds ?? 0) / FLASH_PERIOD_SECONDS;
    assert.ok(flashes.length >= Math.floor(expected) - 1 && flashes.length <= Math.ceil(expected) + 1, `${flashes.length} flashes in ${expected.toFixed(1)} s`);
    assert.deepEqual(report.unpairedFlashes, [], 'every flash has a beep');
    // A beep whose flash the file cannot show is cut, not out of sync: at the start, one within a
    // flash's length of the video's first frame (the flash began before it, so no rise is seen);
    // at the end, one whose flash (up to SYNC_MS before it) fell past the last flash kept above.
    const videoStart = video.startNtpMs / 1000;
    const lastFlashKept = audioEnd - FLASH_SECONDS;
    const cut = (at: number) => at < videoStart + FLASH_SECONDS || at > lastFlashKept - SYNC_MS / 1000;
    const unpaired = report.unpairedBeeps.map((t) => `${(t - origin).toFixed(3)}${cut(t) ? ' (cut)' : ''}`).join(', ');
    assert.deepEqual(report.unpairedBeeps.filter((at) => !cut(at)), [], `every beep has a flash but those cut at an end: ${unpaired}`);
    assert.ok(report.maxAbsOffsetMs <= SYNC_MS, `every flash and its beep within ${SYNC_MS} ms: worst ${report.maxAbsOffsetMs.toFixed(1)} ms`);
    await page.close();
  });
});
