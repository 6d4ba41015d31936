/**
 * The mixer's video codecs: Debian's ffmpeg, one process per publisher's video (IVF in, I420 of
 * the grid's size out) and one per grid (I420 in, VP8 in IVF out), all fed through pipes. Why
 * ffmpeg rather than a codec in this process: libvpx's realtime encoder and the decoders are C,
 * ~10x what a WebAssembly build does here, and a process per stream puts each on its own core
 * and lets a stuck codec be killed alone. Every process reads its stdin to the end, so when the
 * mixer dies (even SIGKILL) its pipes close and they all exit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setPriority } from 'node:os';
import { i420Size, type I420 } from './i420.js';
import { IvfReader, ivfFileHeader, ivfFrame, type IvfCodec } from './ivf.js';
import { Y4mReader } from './y4m.js';

const CODEC_NICENESS = 5;
/** Compressed frames waiting for a decoder past which new ones are dropped (a decoder that cannot keep up must not grow the mixer's memory). */
const MAX_PIPE_BYTES = 4 * 1024 * 1024;

export interface VideoCodecOptions {
  ffmpegPath: string;
  width: number;
  height: number;
  onError: (message: string) => void;
}

function run(ffmpegPath: string, args: string[], onError: (message: string) => void, what: string): ChildProcessWithoutNullStreams {
  const child = spawn(ffmpegPath, ['-hide_banner', '-nostats', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  // A little below the audio: the mix's 20 ms ticks and the SFU worker go first when the cores
  // are busy. Not far below: at nice 10, on 2 cores saturated by 4 browsers (the e2e test), the
  // codecs got so little CPU that a restarted mixer's grid took 14-24 s to show every tile.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, CODEC_NICENESS);
    } catch {
      // not permitted here: they run at the mixer's priority
    }
  }
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdin.on('error', () => {});
  child.on('error', (error) => onError(`${what}: ${error.message}`));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM' && !child.killed) onError(`${what} exited (${code ?? signal}): ${stderr.trim().slice(-500)}`);
  });
  return child;
}

/**
 * Decodes one publisher's frames; `latest` is its newest picture at the grid's size (letterboxed).
 * Started before its codec is known (the mixer keeps one spare, `spare-pool.ts`): ffmpeg reads the
 * codec from the IVF header, which is written with the first frame, after `use(codec)`.
 */
export class VideoDecoder {
  latest: I420 | undefined;
  /** Pictures decoded. */
  pictures = 0;
  /** Called with each picture decoded. */
  onPicture: (() => void) | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly reader = new Y4mReader();
  private codec: IvfCodec | undefined;
  private started = false;
  private closed = false;
  private startedAt = 0;

  /** `onExit`: the process ended by itself (not by `close`). */
  constructor(
    private readonly options: VideoCodecOptions,
    onExit?: () => void,
  ) {
    const { width, height } = options;
    this.child = run(
      options.ffmpegPath,
      // Low delay: no probing beyond the first frame, one thread (frame threads hold frames back),
      // every decoded frame out as it comes (no frame-rate conversion; Y4M, not rawvideo, which
      // ffmpeg writes one frame late: `y4m.ts`). Not `-fflags nobuffer`: it throws away the frames
      // read while probing, the first keyframe among them, and the decoder then shows nothing
      // until the publisher's next keyframe (16 frames here; never, for a Firefox canvas that
      // sent no other).
      [
        ...['-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay', '-threads', '1'],
        ...['-f', 'ivf', '-i', 'pipe:0'],
        ...['-vf', `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=fast_bilinear,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`],
        ...['-fps_mode', 'passthrough', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', 'pipe:1'],
      ],
      options.onError,
      'a video decoder',
    );
    this.child.stdout.on('data', (chunk: Buffer) => this.onOutput(chunk));
    // Once, whichever comes: a process that could not start says 'error' and may not say 'exit'.
    let ended = false;
    const end = () => {
      if (ended || this.closed) return;
      ended = true;
      onExit?.();
    };
    this.child.on('exit', end);
    this.child.on('error', end);
  }

  /** Its ffmpeg's process id (diagnostics, tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The codec of the frames to come (once: ffmpeg takes it from the stream's header). */
  use(codec: IvfCodec): void {
    if (this.codec !== undefined && this.codec !== codec) throw new Error(`a ${this.codec} decoder given ${codec}`);
    this.codec = codec;
  }

  /** One whole frame; stamped with this process's own clock (RTP timestamps wrap and restart with a publisher's new stream). */
  decode(frame: Buffer): void {
    if (this.closed || this.codec === undefined) return;
    if (!this.started) {
      // The header's size is a placeholder: the decoder takes the real one from the keyframe.
      this.child.stdin.write(ivfFileHeader(this.codec, this.options.width, this.options.height));
      this.started = true;
      this.startedAt = performance.now();
    }
    if (this.child.stdin.writableLength > MAX_PIPE_BYTES) return;
    this.child.stdin.write(ivfFrame(frame, (performance.now() - this.startedAt) * 90));
  }

  close(): void {
    this.closed = true;
    this.child.stdin.end();
    this.child.kill('SIGKILL');
  }

  private onOutput(chunk: Buffer): void {
    let pictures: Buffer[];
    try {
      pictures = this.reader.push(chunk);
    } catch (error) {
      this.options.onError(`a video decoder's output: ${error instanceof Error ? error.message : String(error)}`);
      this.close();
      return;
    }
    for (const data of pictures) {
      if (data.length !== i420Size(this.options.width, this.options.height)) continue;
      this.latest = { width: this.options.width, height: this.options.height, data };
      this.pictures += 1;
      this.onPicture?.();
    }
  }
}

export interface EncoderSettings {
  fps: number;
  bitrateKbps: number;
  /** Frames between keyframes the encoder makes by itself. */
  keyframeInterval: number;
}

/** One ffmpeg encoding a grid to VP8. */
class Vp8Process {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly reader = new IvfReader();

  constructor(options: VideoCodecOptions, settings: EncoderSettings, onFrame: (frame: Buffer) => void) {
    const { width, height } = options;
    this.child = run(
      options.ffmpegPath,
      [
        ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', String(settings.fps), '-i', 'pipe:0'],
        // libvpx's realtime mode as libwebrtc runs it: no lookahead or alt-ref frames (each frame
        // out as it goes in), error resilient (a loss spoils no later frame's probabilities).
        ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-auto-alt-ref', '0', '-error-resilient', '1', '-threads', '1'],
        ...['-b:v', `${settings.bitrateKbps}k`, '-maxrate', `${settings.bitrateKbps}k`, '-bufsize', `${Math.round(settings.bitrateKbps / 2)}k`, '-g', String(settings.keyframeInterval)],
        ...['-fps_mode', 'passthrough', '-f', 'ivf', '-flush_packets', '1', 'pipe:1'],
      ],
      options.onError,
      'the VP8 encoder',
    );
    this.child.stdout.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.reader.push(chunk)) onFrame(frame.data);
      } catch (error) {
        options.onError(`the VP8 encoder's output: ${error instanceof Error ? error.message : String(error)}`);
        this.child.kill('SIGKILL');
      }
    });
  }

  /**
   * Hands the encoder a picture, or drops it (false) while the one before still waits to be read:
   * a grid is live, so an encoder behind on busy cores skips pictures rather than queue them. A
   * queue bounded only by bytes (4 MB: 12 pictures at 640x360, 0.8 s at 15 fps) let the grid lag
   * the room by that much: a joiner's tile took 1.2-1.5 s to show under the e2e test's load.
   */
  write(picture: I420): boolean {
    if (this.child.stdin.writableLength >= picture.data.length) return false;
    this.child.stdin.write(picture.data);
    return true;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill('SIGKILL');
  }
}

/** A VP8 frame's first byte: bit 0 clear on a keyframe (RFC 6386 9.1). */
export const isVp8Keyframe = (frame: Buffer): boolean => frame.length > 0 && (frame[0]! & 0x01) === 0;

/**
 * Encodes one grid. ffmpeg takes no keyframe request once running, so `requestKeyframe` starts a
 * second encoder beside the first (its first frame is a keyframe) and switches to it at that
 * frame: receivers see no gap, and the switch costs one encoder's start (~100 ms here).
 */
export class GridEncoder {
  private current: Vp8Process;
  private next: Vp8Process | undefined;
  private lastKeyframeAt = -Infinity;
  /** Frames encoded and keyframes among them. */
  frames = 0;
  keyframes = 0;

  constructor(
    private readonly options: VideoCodecOptions,
    private readonly settings: EncoderSettings,
    private readonly onFrame: (frame: Buffer, keyframe: boolean) => void,
  ) {
    this.current = this.start();
  }

  encode(picture: I420): void {
    this.current.write(picture);
    this.next?.write(picture);
  }

  /** A receiver lost the picture (or just arrived): a keyframe soon, at most one switch at a time. */
  requestKeyframe(): void {
    // Before its first frame the encoder's next frame is a keyframe anyway.
    if (this.next || this.frames === 0 || performance.now() - this.lastKeyframeAt < 300) return;
    this.next = this.start();
  }

  close(): void {
    this.current.close();
    this.next?.close();
  }

  private start(): Vp8Process {
    const process: Vp8Process = new Vp8Process(this.options, this.settings, (frame) => {
      if (process === this.next) {
        // The new encoder's first frame (a keyframe): from here on it is the one.
        this.current.close();
        this.current = process;
        this.next = undefined;
      }
      if (process !== this.current) return;
      const keyframe = isVp8Keyframe(frame);
      this.frames += 1;
      if (keyframe) {
        this.keyframes += 1;
        this.lastKeyframeAt = performance.now();
      }
      this.onFrame(frame, keyframe);
    });
    return process;
  }
}
