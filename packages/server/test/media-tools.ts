import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A WebM written as a live stream (no duration, no cues), as MediaRecorder writes it: VP9 + Opus. */
export async function makeLiveWebm(path: string, seconds: number): Promise<void> {
  await exec('ffmpeg', [
    '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '25',
    '-c:a', 'libopus', '-live', '1', '-f', 'webm', path,
  ]);
}

export interface Probe {
  durationSeconds: number | undefined;
  streams: Array<{ codec_type: string; codec_name: string }>;
}

export async function probe(path: string): Promise<Probe> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', path]);
  const parsed = JSON.parse(stdout) as { format?: { duration?: string }; streams?: Probe['streams'] };
  const duration = Number.parseFloat(parsed.format?.duration ?? '');
  return { durationSeconds: Number.isFinite(duration) ? duration : undefined, streams: parsed.streams ?? [] };
}

/** `ffmpeg -v error -i FILE [output options] -f null -`: what a full decode prints on stderr (empty when clean). */
export async function decodeErrors(path: string, outputOptions: string[] = []): Promise<string> {
  const { stderr } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, ...outputOptions, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stderr.trim();
}

/**
 * The null muxer's complaint about timestamps ffmpeg made itself: for a variable-frame-rate file
 * (a browser's capture) it restamps frames on the frame rate it guessed (~25 fps) and two frames
 * closer than 1/25 s land on one tick. Not a decode error: `-vsync vfr` decodes the same frames
 * silently.
 */
export const NULL_MUXER_RESTAMP = /non monotonically increasing dts to muxer/;

/**
 * What `decodeErrors` printed other than restamping notes (NULL_MUXER_RESTAMP): real decode
 * errors. ffmpeg folds a message printed twice in a row into "Last message repeated N times", so
 * such a line after a restamping note is one too.
 */
export function withoutRestampNotes(output: string): string[] {
  const lines = output.split('\n').filter((line) => line !== '');
  const restamp = (index: number): boolean => {
    const line = lines[index] ?? '';
    return NULL_MUXER_RESTAMP.test(line) || (/^\s*Last message repeated \d+ times$/.test(line) && index > 0 && restamp(index - 1));
  };
  return lines.filter((_, index) => !restamp(index));
}

/** `decodeErrors` without the restamping notes: what ffmpeg found wrong decoding `path`. */
export async function decodeProblems(path: string): Promise<string[]> {
  return withoutRestampNotes(await decodeErrors(path));
}

/** One frame decoded after seeking to `seconds` (`ffmpeg -ss S -i FILE -frames:v 1`): its size in bytes as raw video. */
export async function frameAt(path: string, seconds: number): Promise<number> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-ss', String(seconds), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout.length;
}

/** Mean brightness (0-255) of each of `columns` vertical strips of the frame at `seconds`. */
export async function stripBrightness(path: string, seconds: number, columns: number): Promise<number[]> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-ss', String(seconds), '-i', path, '-frames:v', '1', '-vf', `scale=${columns}:1:flags=area,format=gray`, '-f', 'rawvideo', '-'], { encoding: 'buffer' });
  return [...stdout];
}
