/**
 * The level of an audio file over time, for the composite's speaker timeline: ffmpeg decodes it
 * (mono, 8 kHz: enough for a voice's energy, and cheap) with the same `aresample=async=1:first_pts=0`
 * the composite's mix uses, so a hole in the track (an SFU worker restart) is silence at its place
 * and window j is at `j * windowSeconds` from the file's start, as in the mix. Each window's RMS
 * in dBov (0 = full scale), the measure of the RFC 6464 audio level browsers send.
 *
 * Decoded energy rather than the audio-level header extension in the recorded packets: it is
 * what the mix holds (after the file's own placement and gap-filling), and it needs nothing from
 * the publisher (a sender that does not send the extension still has a voice).
 */
import { spawn } from 'node:child_process';
import { RemuxError } from '../remux.js';

const RATE = 8000;

/** dBov of each consecutive `windowSeconds` window of mono s16le PCM (a last partial window is left out). */
export function windowLevels(pcm: Buffer, sampleRate: number, windowSeconds: number): Float64Array {
  const samples = Math.floor(pcm.length / 2);
  const size = Math.max(1, Math.round(sampleRate * windowSeconds));
  const levels = new Float64Array(Math.floor(samples / size));
  for (let j = 0; j < levels.length; j++) {
    let sum = 0;
    for (let i = j * size; i < (j + 1) * size; i++) {
      const value = pcm.readInt16LE(i * 2) / 32768;
      sum += value * value;
    }
    levels[j] = 10 * Math.log10(sum / size);
  }
  return levels;
}

export async function audioLevels(ffmpegPath: string, file: string, windowSeconds: number): Promise<Float64Array> {
  const pcm = await new Promise<Buffer>((resolve, reject) => {
    const args = ['-nostdin', '-v', 'error', '-i', file, '-map', '0:a:0', '-af', `aresample=${RATE}:async=1:first_pts=0`, '-ac', '1', '-f', 's16le', '-'];
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new RemuxError(`${ffmpegPath} not found: install Debian's ffmpeg package`, 'FFMPEG_MISSING', { cause: error }) : error));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new RemuxError(`ffmpeg could not decode ${file} for its levels (exit ${code}): ${stderr.slice(-300)}`, 'FFMPEG_FAILED'))));
  });
  return windowLevels(pcm, RATE, windowSeconds);
}
