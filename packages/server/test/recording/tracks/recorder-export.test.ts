/**
 * Server recording without a browser: real VP8 and Opus (encoded by ffmpeg) packetized into RTP,
 * reordered, resent and with a hole, through the worker's tap into a real recorder process, then
 * exported; and the recorder SIGKILLed mid-recording, its file keeping what it had received.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { readRecords, RecordType, type TrackDescription } from '../../../src/recording/tracks/record-format.ts';
import { exportRecording } from '../../../src/recording/tracks/recording-export.ts';
import { RecorderProcess } from '../../../src/recording/tracks/recorder-process.ts';
import { RecordingTap } from '../../../src/sfu/worker/recording-tap.ts';
import { decodeErrors, frameAt, probe } from '../../media-tools.ts';
import { h264AccessUnits, packetizeAv1, packetizeH264, packetizeVp8, packetizeVp9, readIvf, readOggPackets, rtpPacket } from './rtp-packets.ts';
import { encodeRecord } from '../../../src/recording/tracks/record-format.ts';
import { exportTrack } from '../../../src/recording/tracks/track-export.ts';

const exec = promisify(execFile);
const SECONDS = 6;
const TOOLS = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
const dir = await mkdtemp(join(tmpdir(), 'parley-rec-export-'));
after(() => rm(dir, { recursive: true, force: true }));

const VIDEO: TrackDescription = { trackId: 'cam', participant: 'alice', source: 'camera', kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90_000, rids: [] };
const AUDIO: TrackDescription = { trackId: 'mic', participant: 'alice', source: 'microphone', kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48_000, rids: [], channels: 2 };
/** The publisher's wall clock at RTP timestamp `base`: 2026-12-05 12:00:00 UTC as NTP. */
const NTP_SECONDS = 2_208_988_800 + Date.UTC(2026, 11, 5, 12) / 1000;

let videoPackets: Buffer[] = [];
let audioPackets: Buffer[] = [];

before(async () => {
  await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${SECONDS}`, '-c:v', 'libvpx', '-g', '50', '-b:v', '300k', '-f', 'ivf', join(dir, 'in.ivf')]);
  await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`, '-ac', '2', '-c:a', 'libopus', '-frame_duration', '20', '-f', 'ogg', join(dir, 'in.ogg')]);
  // Sequence numbers start near the 16-bit wrap, timestamps near the 32-bit wrap.
  let sequence = 65_400;
  const videoBase = 2 ** 32 - 90_000;
  for (const frame of readIvf(await readFile(join(dir, 'in.ivf')))) {
    const parts = packetizeVp8(frame.data, 700);
    parts.forEach((payload, i) => videoPackets.push(rtpPacket({ sequence: sequence++, timestamp: videoBase + frame.pts * 3600, payload, marker: i === parts.length - 1, ssrc: 11 })));
  }
  let audioSequence = 100;
  readOggPackets(await readFile(join(dir, 'in.ogg'))).forEach((payload, i) => audioPackets.push(rtpPacket({ sequence: audioSequence++, timestamp: 5000 + i * 960, payload, payloadType: 111, ssrc: 22 })));
});

/** Arrival order as a network makes it: some packets swapped, some twice. */
function network(packets: Buffer[]): Buffer[] {
  const out = [...packets];
  for (let i = 10; i + 1 < out.length; i += 37) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
  for (let i = 5; i < packets.length; i += 53) out.splice(i, 0, packets[i]!);
  return out;
}

async function waitForBytes(path: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (((await stat(path).catch(() => undefined))?.size ?? 0) < bytes) {
    if (Date.now() > deadline) throw new Error(`${path} did not reach ${bytes} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('server recording export', () => {
  test('VP8 and Opus through the tap and a recorder process: reordered, resent and a 200 ms audio hole; WebM files with true durations that decode and seek; manifest on the sender-report clock', async () => {
    const work = join(dir, 'rec1');
    await exec('mkdir', ['-p', work]);
    const recorder = await RecorderProcess.start({ directory: work, recording: 'rec1', secret: 's3cret' });
    const tap = new RecordingTap({ recording: 'rec1', port: recorder.port, secret: 's3cret' }, (message) => assert.fail(message));
    const video = tap.track(VIDEO);
    const audio = tap.track(AUDIO);
    video.senderReport(0, { ssrc: 11, ntpSeconds: NTP_SECONDS, ntpFraction: 0, rtpTimestamp: 2 ** 32 - 90_000 });
    audio.senderReport(0, { ssrc: 22, ntpSeconds: NTP_SECONDS, ntpFraction: 2 ** 31, rtpTimestamp: 5000 });
    for (const packet of network(videoPackets)) video.rtp(0, packet);
    // 10 Opus packets (200 ms) never arrive.
    for (const packet of network(audioPackets.filter((_, i) => i < 100 || i >= 110))) audio.rtp(0, packet);
    tap.close();
    await recorder.stop(tap.sentBytes);

    const started = performance.now();
    const manifest = await exportRecording({ directory: work, recording: 'rec1', room: 'r', tools: TOOLS });
    const exportMs = performance.now() - started;
    const [cam, mic] = manifest.tracks;
    assert.ok(cam && mic);
    console.log(`export of ${SECONDS} s VP8 + Opus: ${exportMs.toFixed(0)} ms; video ${cam.durationSeconds} s (RTP ${cam.rtpDurationSeconds.toFixed(3)} s), audio ${mic.durationSeconds} s`);
    assert.equal(cam.file, 'track-1-alice-camera.webm');
    assert.equal(cam.duplicates, Math.ceil((videoPackets.length - 5) / 53));
    assert.deepEqual(cam.gaps, []);
    assert.equal(cam.brokenFrames, 0);
    assert.equal(cam.startNtpMs, Date.UTC(2026, 11, 5, 12));
    assert.equal(mic.startNtpMs, Date.UTC(2026, 11, 5, 12) + 500);
    assert.deepEqual(mic.gaps, [{ atSeconds: 2.2, missing: 10 }]);
    for (const track of [cam, mic]) {
      const path = join(work, track.file!);
      const probed = await probe(path);
      assert.deepEqual(probed.streams.map((s) => s.codec_name), [track === cam ? 'vp8' : 'opus']);
      assert.ok(Math.abs((probed.durationSeconds ?? 0) - SECONDS) < 0.1, `${track.file}: ${probed.durationSeconds} s, truth ${SECONDS} s`);
      assert.equal(await decodeErrors(path), '', `${track.file} decodes without an error`);
    }
    assert.ok((await frameAt(join(work, cam.file!), SECONDS / 2)) > 0, 'seeking to the middle gives a frame');
  });

  test('VP9: a WebM file with the true duration that decodes cleanly and seeks', async () => {
    await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${SECONDS}`, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-auto-alt-ref', '0', '-lag-in-frames', '0', '-g', '50', '-b:v', '300k', '-f', 'ivf', join(dir, 'in-vp9.ivf')]);
    const records = [encodeRecord(RecordType.track, 0, 0, Buffer.from('{}'))];
    let sequence = 1000;
    for (const frame of readIvf(await readFile(join(dir, 'in-vp9.ivf')))) {
      const payloads = packetizeVp9(frame.data);
      payloads.forEach((payload, i) => records.push(encodeRecord(RecordType.rtp, 0, frame.pts * 40, rtpPacket({ sequence: sequence++, timestamp: frame.pts * 3600, payload, marker: i === payloads.length - 1 }))));
    }
    const track = await exportTrack({ description: { ...VIDEO, codec: 'vp9', payloadType: 98 }, segments: [{ segment: 1, records: readRecords(Buffer.concat(records)).records }], directory: dir, name: 'vp9', tools: TOOLS });
    assert.deepEqual([track.file, track.brokenFrames, track.skippedFrames], ['vp9.webm', 0, 0]);
    const path = join(dir, 'vp9.webm');
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => s.codec_name), ['vp9']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - SECONDS) < 0.1, `${probed.durationSeconds} s, truth ${SECONDS} s`);
    assert.equal(await decodeErrors(path), '');
    assert.ok((await frameAt(path, SECONDS / 2)) > 0);
  });

  test('AV1 (OBUs fragmented across packets): a Matroska file with the true duration that decodes cleanly and seeks', async () => {
    await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${SECONDS}`, '-c:v', 'libsvtav1', '-preset', '12', '-g', '50', '-b:v', '300k', '-f', 'ivf', join(dir, 'in-av1.ivf')]);
    const records = [encodeRecord(RecordType.track, 0, 0, Buffer.from('{}'))];
    let sequence = 0;
    for (const frame of readIvf(await readFile(join(dir, 'in-av1.ivf')))) {
      const payloads = packetizeAv1(frame.data, 600);
      payloads.forEach((payload, i) => records.push(encodeRecord(RecordType.rtp, 0, frame.pts * 40, rtpPacket({ sequence: sequence++, timestamp: frame.pts * 3600, payload, marker: i === payloads.length - 1 }))));
    }
    const track = await exportTrack({ description: { ...VIDEO, codec: 'av1', payloadType: 45 }, segments: [{ segment: 1, records: readRecords(Buffer.concat(records)).records }], directory: dir, name: 'av1', tools: TOOLS });
    assert.deepEqual([track.file, track.brokenFrames, track.skippedFrames, track.error], ['av1.mkv', 0, 0, undefined]);
    const path = join(dir, 'av1.mkv');
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => s.codec_name), ['av1']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - SECONDS) < 0.1, `${probed.durationSeconds} s, truth ${SECONDS} s`);
    assert.equal(await decodeErrors(path), '');
    assert.ok((await frameAt(path, SECONDS / 2)) > 0);
  });

  test('H.264 (single NAL units and FU-A, one frame lost): a Matroska file with the true duration that decodes cleanly and seeks', async () => {
    await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${SECONDS}`, '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '50', '-f', 'h264', join(dir, 'in.h264')]);
    const units = h264AccessUnits(await readFile(join(dir, 'in.h264')));
    const records = [encodeRecord(RecordType.track, 0, 0, Buffer.from('{}'))];
    let sequence = 0;
    units.forEach((unit, frame) => {
      const payloads = packetizeH264(unit);
      payloads.forEach((payload, i) => {
        // The last packet of frame 60 (a P frame) never arrives: it and the frames after it up to
        // the keyframe at 100 are left out. Frame 61 counts as broken too: right after a hole, its
        // own first NAL units could have been in it (H.264 packets do not say they begin a frame).
        if (!(frame === 60 && i === payloads.length - 1)) records.push(encodeRecord(RecordType.rtp, 0, frame * 40, rtpPacket({ sequence, timestamp: frame * 3600, payload, marker: i === payloads.length - 1 })));
        sequence += 1;
      });
    });
    const description: TrackDescription = { ...VIDEO, codec: 'h264', payloadType: 102 };
    const track = await exportTrack({ description, segments: [{ segment: 1, records: readRecords(Buffer.concat(records)).records }], directory: dir, name: 'h264', tools: TOOLS });
    assert.equal(track.file, 'h264.mkv');
    assert.deepEqual([track.brokenFrames, track.skippedFrames, track.gaps.length], [2, 38, 1]);
    const path = join(dir, 'h264.mkv');
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => s.codec_name), ['h264']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - SECONDS) < 0.1, `${probed.durationSeconds} s, truth ${SECONDS} s`);
    assert.equal(await decodeErrors(path), '');
    assert.ok((await frameAt(path, SECONDS / 2)) > 0);
  });

  test('the recorder SIGKILLed mid-recording: its files keep every record it had received, and they export', async () => {
    const work = join(dir, 'rec2');
    await exec('mkdir', ['-p', work]);
    const recorder = await RecorderProcess.start({ directory: work, recording: 'rec2', secret: 'x' });
    const tap = new RecordingTap({ recording: 'rec2', port: recorder.port, secret: 'x' }, () => undefined);
    const video = tap.track(VIDEO);
    const half = Math.floor(videoPackets.length / 2);
    for (const packet of videoPackets.slice(0, half)) video.rtp(0, packet);
    tap.flush();
    const file = join(work, 's1-t1.prec');
    // Each record: 8 bytes of length and CRC, 12 of header, the packet; the description first.
    const expected = videoPackets.slice(0, half).reduce((sum, packet) => sum + 20 + packet.length, 0);
    await waitForBytes(file, expected);
    process.kill(recorder.pid!, 'SIGKILL');
    const { signal } = await recorder.exited;
    assert.equal(signal, 'SIGKILL');
    for (const packet of videoPackets.slice(half)) video.rtp(0, packet);
    tap.close();

    const { records, torn } = readRecords(await readFile(file));
    assert.equal(torn, false);
    assert.equal(records[0]?.type, RecordType.track);
    assert.equal(records.filter((r) => r.type === RecordType.rtp).length, half, 'every packet sent before the kill is in the file');
    const manifest = await exportRecording({ directory: work, recording: 'rec2', room: 'r', tools: TOOLS });
    const duration = manifest.tracks[0]?.durationSeconds ?? 0;
    console.log(`recorder killed after ${half} of ${videoPackets.length} packets (${(await stat(file)).size} bytes): the export holds ${duration.toFixed(2)} s of ${SECONDS} s`);
    assert.ok(Math.abs(duration - SECONDS / 2) < 0.5, `about half the video: ${duration} s`);
    assert.equal(await decodeErrors(join(work, manifest.tracks[0]!.file!)), '');
    assert.deepEqual((await readdir(work)).filter((name) => name.endsWith('.webm')), ['track-1-alice-camera.webm']);
  });
});
