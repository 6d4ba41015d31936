import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';

export interface RemuxTools {
  ffmpegPath: string;
  ffprobePath: string;
}

export class RemuxError extends Error {
  override name = 'RemuxError';
  constructor(
    message: string,
    readonly code: 'FFMPEG_MISSING' | 'FFMPEG_FAILED' | 'PROBE_FAILED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * MediaRecorder's WebM is written as a live stream: no duration and no cues, so players cannot
 * seek it. `ffmpeg -c copy` into a file rewrites the container (SeekHead, Cues, Duration) without
 * re-encoding a frame. A truncated upload (the browser closed mid-call) is remuxed up to its last
 * complete block. Answers the duration ffprobe reads from the result.
 */
export async function remuxWebm(tools: RemuxTools, input: string, output: string): Promise<{ durationSeconds: number }> {
  // Chromium's MediaRecorder stamps some consecutive video frames with the same millisecond;
  // a decoder then reports "non monotonically increasing dts". setts moves such a frame 1 ms on.
  const args = ['-nostdin', '-v', 'error', '-y', '-fflags', '+genpts', '-i', input, '-map', '0', '-c', 'copy', '-bsf:v', 'setts=ts=max(PTS\\,PREV_OUTPTS+1)', '-f', 'webm', output];
  const { code, stderr } = await runTool(tools.ffmpegPath, args);
  // ffmpeg reports a truncated last cluster as an error yet writes everything before it; the
  // probe below decides whether the output is usable.
  if (code !== 0 && code !== 1) throw new RemuxError(`ffmpeg exited with ${code}: ${stderr.slice(-500)}`, 'FFMPEG_FAILED');
  try {
    return { durationSeconds: await probeDuration(tools, output) };
  } catch (error) {
    // An unusable output after an exit code 1: ffmpeg's own words and the input's size say why
    // (an empty upload, a torn header), where the probe's alone only say the output is missing.
    const inputBytes = await stat(input).then((info) => info.size, () => -1);
    throw new RemuxError(`${(error as Error).message.trim()}; ffmpeg exited with ${code} on ${inputBytes} bytes of input: ${stderr.trim().slice(-300)}`, 'PROBE_FAILED', { cause: error });
  }
}

export async function probeDuration(tools: RemuxTools, file: string): Promise<number> {
  const { code, stdout, stderr } = await runTool(tools.ffprobePath, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', file]);
  const duration = Number.parseFloat(stdout.trim());
  if (code !== 0 || !Number.isFinite(duration)) throw new RemuxError(`ffprobe found no duration in the remuxed file: ${stderr.slice(-300)}`, 'PROBE_FAILED');
  return duration;
}

/** Runs ffmpeg or ffprobe; answers its exit code and output (a missing executable is FFMPEG_MISSING). */
export function runTool(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RemuxError(`${command} not found: install Debian's ffmpeg package`, 'FFMPEG_MISSING', { cause: error }) : error),
    );
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
