/**
 * A track recorded across an SFU worker restart, exported (real VP8 and Opus encoded by ffmpeg,
 * real ffmpeg/ffprobe): segment 1 (the first worker's connection) holds 3 s, then 2 s of nothing
 * while the worker restarts, then segment 2 (the new worker's connection) 3 s more, with the new
 * SSRC, sequence numbers and RTP timestamps a republished track has. The raw files are written as
 * the recorder writes them (`s<segment>-t<track>.prec`, `record-format.ts`), with the arrival
 * times a restart gives: the tap stamps arrivals with the real clock, which a test cannot wait out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { encodeRecord, RecordType, type TrackDescription } from '../../../src/recording/tracks/record-format.ts';
import { exportRecording } from '../../../src/recording/tracks/recording-export.ts';
import { decodeErrors, probe } from '../../media-tools.ts';
import { packetizeVp8, readIvf, readOggPackets, rtpPacket } from './rtp-packets.ts';

const exec = promisify(execFile);
const TOOLS = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
const dir = await mkdtemp(join(tmpdir(), 'parley-rec-segments-'));
after(() => rm(dir, { recursive: true, force: true }));

const VIDEO: TrackDescription = { trackId: 'cam', participant: 'alice', source: 'camera', kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90_000, rids: [] };
const AUDIO: TrackDescription = { trackId: 'mic', participant: 'alice', source: 'microphone', kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48_000, rids: [], channels: 2 };
const T0 = Date.UTC(2026, 11, 5, 12);
const SPLIT_SECONDS = 3;
const GAP_SECONDS = 2;

/** Video frame timestamps (ffprobe's best_effort, seconds) of the file. */
async function frameTimes(path: string): Promise<number[]> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', path]);
  return stdout.split('\n').filter((line) => line.trim() !== '').map(Number);
}

describe('export across an SFU worker restart', () => {
  test('two segments of VP8 and Opus become one file per track: 3 s, a 2 s gap, 3 s; decodes cleanly; the manifest lists both segments and the gap', async () => {
    // Keyframes every second, as a republished track's first frame is one.
    await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=6', '-c:v', 'libvpx', '-g', '25', '-b:v', '300k', '-f', 'ivf', join(dir, 'in.ivf')]);
    await exec('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-ac', '2', '-c:a', 'libopus', '-frame_duration', '20', '-f', 'ogg', join(dir, 'in.ogg')]);
    const raw = { s1v: [encodeRecord(RecordType.track, 0, T0, Buffer.from(JSON.stringify(VIDEO)))], s1a: [encodeRecord(RecordType.track, 0, T0, Buffer.from(JSON.stringify(AUDIO)))] } as Record<string, Buffer[]>;
    // The republished tracks on the new worker: other ids, track numbers swapped.
    raw.s2v = [encodeRecord(RecordType.track, 0, T0, Buffer.from(JSON.stringify({ ...VIDEO, trackId: 'cam-2' })))];
    raw.s2a = [encodeRecord(RecordType.track, 0, T0, Buffer.from(JSON.stringify({ ...AUDIO, trackId: 'mic-2' })))];
    const arrival = (seconds: number) => T0 + (seconds < SPLIT_SECONDS ? seconds : seconds + GAP_SECONDS) * 1000;
    let sequence = [100, 40_000];
    for (const frame of readIvf(await readFile(join(dir, 'in.ivf')))) {
      const seconds = frame.pts / 25;
      const second = seconds >= SPLIT_SECONDS ? 1 : 0;
      const timestamp = second ? 7_000_000 + (frame.pts - 75) * 3600 : 1000 + frame.pts * 3600;
      const parts = packetizeVp8(frame.data, 700);
      parts.forEach((payload, i) => raw[second ? 's2v' : 's1v']!.push(encodeRecord(RecordType.rtp, 0, arrival(seconds), rtpPacket({ sequence: sequence[second]!++, timestamp, payload, marker: i === parts.length - 1, ssrc: second ? 33 : 11 }))));
    }
    sequence = [100, 9_000];
    readOggPackets(await readFile(join(dir, 'in.ogg'))).forEach((payload, i) => {
      const seconds = i * 0.02;
      const second = seconds >= SPLIT_SECONDS ? 1 : 0;
      const timestamp = second ? 123_456 + (i - 150) * 960 : 5000 + i * 960;
      raw[second ? 's2a' : 's1a']!.push(encodeRecord(RecordType.rtp, 0, arrival(seconds), rtpPacket({ sequence: sequence[second]!++, timestamp, payload, payloadType: 111, ssrc: second ? 44 : 22 })));
    });
    const work = join(dir, 'rec');
    await exec('mkdir', ['-p', work]);
    await writeFile(join(work, 's1-t1.prec'), Buffer.concat(raw.s1v!));
    await writeFile(join(work, 's1-t2.prec'), Buffer.concat(raw.s1a!));
    await writeFile(join(work, 's2-t1.prec'), Buffer.concat(raw.s2a!));
    await writeFile(join(work, 's2-t2.prec'), Buffer.concat(raw.s2v!));

    const manifest = await exportRecording({ directory: work, recording: 'rec', room: 'r', tools: TOOLS });
    assert.equal(manifest.tracks.length, 2, 'one file per track, not per segment');
    const [cam, mic] = manifest.tracks;
    assert.ok(cam && mic);
    assert.equal(cam.rawFile, 's1-t1.prec,s2-t2.prec');
    assert.equal(mic.rawFile, 's1-t2.prec,s2-t1.prec');
    for (const track of [cam, mic]) {
      assert.deepEqual(track.segments?.map((s) => s.segment), [1, 2]);
      assert.equal(track.segmentGaps?.length, 1);
      const gap = track.segmentGaps![0]!;
      console.log(`${track.file}: ${track.durationSeconds} s, segments ${JSON.stringify(track.segments!.map((s) => [s.startSeconds, s.durationSeconds]))}, gap ${gap.seconds.toFixed(3)} s at ${gap.atSeconds.toFixed(3)} s`);
      assert.ok(Math.abs(gap.atSeconds - SPLIT_SECONDS) < 0.05, `the gap starts where segment 1 ends (${gap.atSeconds} s)`);
      assert.ok(Math.abs(gap.seconds - GAP_SECONDS) < 0.05, `the gap is the restart's (${gap.seconds} s)`);
      assert.ok(Math.abs(track.segments![1]!.startSeconds - (SPLIT_SECONDS + GAP_SECONDS)) < 0.001);
      const path = join(work, track.file!);
      assert.ok(Math.abs((await probe(path)).durationSeconds! - 8) < 0.1, `${track.file} spans both segments and the gap: 8 s`);
      assert.equal(await decodeErrors(path), '', `${track.file} decodes without an error`);
    }
    const times = await frameTimes(join(work, cam.file!));
    assert.equal(times.length, 150, 'every frame of both segments');
    assert.equal(times.filter((t) => t < SPLIT_SECONDS).length, 75);
    assert.equal(times.filter((t) => t >= SPLIT_SECONDS + GAP_SECONDS - 0.001).length, 75, 'the second segment after the gap');
    assert.deepEqual(times.filter((t) => t > SPLIT_SECONDS && t < SPLIT_SECONDS + GAP_SECONDS - 0.001), [], 'nothing inside the gap');
  });
});
