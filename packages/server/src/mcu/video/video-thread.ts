/**
 * The video half of a room's mix runs on a thread of its own in the mixer process, so that
 * drawing grids and moving pictures through ffmpeg's pipes never delays the audio mix's 20 ms
 * ticks on the main thread. With both on one thread, a 4-person grid made 15 % of the audio ticks
 * late (141 of 923, `e2e/mcu-call.test.ts` on 2 busy cores) and the listeners' browsers grew
 * their audio buffers to ~600 ms. `VideoMixerThread` is the main thread's handle: the same
 * calls as `VideoMixer`, carried as messages; this file is also the thread's entry.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { TrackDescription } from '../../recording/tracks/record-format.js';
import type { GridTier } from './grid.js';
import type { SparePoolStats } from './spare-pool.js';
import { tickMs, VideoMixer } from './video-mixer.js';

const TSX_API = import.meta.resolve('tsx/esm/api');
const CLOSE_TIMEOUT_MS = 1000;
/** What the thread waits after killing its ffmpegs before it says it closed. */
const REAP_MS = 200;

export interface VideoThreadSettings {
  ffmpegPath: string;
  tiers: GridTier[];
  keyframeSeconds: number;
  maxGrids: number;
}

type ToThread =
  | { op: 'addInput'; track: number; description: TrackDescription }
  | { op: 'packet'; track: number; packet: Uint8Array; arrivalMs: number; layer: number }
  | { op: 'removeInput'; trackId: string }
  | { op: 'removeInputsOf'; participant: string }
  | { op: 'listener'; participant: string; listening: boolean; tier: number | undefined }
  | { op: 'speaker'; participant: string | undefined }
  | { op: 'keyframe'; listener: string; tier: number | undefined }
  | { op: 'audioPublishers'; participants: Array<[participant: string, name: string]> }
  | { op: 'close' };

type FromThread =
  | { op: 'packet'; listener: string; packet: Uint8Array; inputArrivalMs: number; tier: number }
  | { op: 'keyframeRequest'; trackId: string }
  | { op: 'error'; message: string }
  | { op: 'stats'; draws: number; decoderStarts: SparePoolStats }
  | { op: 'closed' };

export interface VideoMixerThreadOptions {
  settings: VideoThreadSettings;
  send: (listener: string, packet: Buffer, inputArrivalMs: number, tier: number) => void;
  requestKeyframe: (trackId: string) => void;
  onError: (message: string) => void;
}

export class VideoMixerThread {
  private readonly worker: Worker;
  private readonly inputs = new Set<number>();
  private audioPublishers = '';
  private closing = false;
  /** Grids drawn (a running total), as the thread last said. */
  draws = 0;
  /** Decoders handed out warm and cold, and spares that died waiting (running totals), as the thread last said. */
  decoderStarts: Readonly<SparePoolStats> = { warm: 0, cold: 0, died: 0 };

  constructor(private readonly options: VideoMixerThreadOptions) {
    // A thread does not inherit the process's `--import tsx` hooks: it registers tsx's loader itself, then loads this file.
    const bootstrap = `import { register } from ${JSON.stringify(TSX_API)}; register(); await import(${JSON.stringify(import.meta.url)});`;
    this.worker = new Worker(bootstrap, { eval: true, workerData: options.settings });
    this.worker.on('message', (message: FromThread) => {
      if (this.closing && message.op !== 'closed') return;
      if (message.op === 'packet') options.send(message.listener, Buffer.from(message.packet.buffer, message.packet.byteOffset, message.packet.byteLength), message.inputArrivalMs, message.tier);
      else if (message.op === 'keyframeRequest') options.requestKeyframe(message.trackId);
      else if (message.op === 'error') options.onError(message.message);
      else if (message.op === 'closed') void this.worker.terminate();
      else [this.draws, this.decoderStarts] = [message.draws, message.decoderStarts];
    });
    // A thread that dies takes the grids with it: the process exits and its supervisor restarts the whole mixer (audio included), as for any crash.
    this.worker.on('error', (error) => {
      options.onError(`the video mixer thread failed: ${error.message}`);
      process.exit(1);
    });
  }

  addInput(track: number, description: TrackDescription): void {
    this.inputs.add(track);
    this.post({ op: 'addInput', track, description });
  }

  hasInput(track: number): boolean {
    return this.inputs.has(track);
  }

  receive(track: number, packet: Buffer, arrivalMs: number, layer: number): void {
    this.post({ op: 'packet', track, packet: new Uint8Array(packet), arrivalMs, layer });
  }

  removeInput(trackId: string): void {
    this.post({ op: 'removeInput', trackId });
  }

  removeInputsOf(participant: string): void {
    this.post({ op: 'removeInputsOf', participant });
  }

  /** `tier`: the one a new listener starts on (in the same message: no tick between puts it on the lowest first). */
  setListener(participant: string, listening: boolean, tier?: number): void {
    this.post({ op: 'listener', participant, listening, tier });
  }

  setSpeaker(participant: string | undefined): void {
    this.post({ op: 'speaker', participant });
  }

  /** A keyframe of the listener's grid; with `tier`, of that tier's (the listener moves to it). */
  requestKeyframe(listener: string, tier?: number): void {
    this.post({ op: 'keyframe', listener, tier });
  }

  /** Who the audio mix has a voice of, with their display names (in the picture, as a placeholder without video); sent when it changes. */
  setAudioPublishers(participants: ReadonlyMap<string, string>): void {
    const list = [...participants].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify(list);
    if (key === this.audioPublishers) return;
    this.audioPublishers = key;
    this.post({ op: 'audioPublishers', participants: list });
  }

  /**
   * Ends the thread once it has closed its mixer: a terminated thread leaves its ffmpeg processes
   * running (checked: a child spawned in a worker outlived `terminate()` for as long as its
   * process lived), and this process outlives a connection (a worker that connects again gets a
   * new thread), so each reconnection would have left its decoders, its spare and its encoders
   * behind. Terminated anyway if the thread does not answer within a second.
   */
  close(): void {
    if (this.closing) return;
    this.post({ op: 'close' });
    this.closing = true;
    setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  private post(message: ToThread): void {
    if (!this.closing) this.worker.postMessage(message);
  }
}

function runThread(): void {
  const port = parentPort!;
  const settings = workerData as VideoThreadSettings;
  const post = (message: FromThread) => port.postMessage(message);
  const mixer = new VideoMixer({
    ...settings,
    send: (listener, packet, inputArrivalMs, tier) => post({ op: 'packet', listener, packet, inputArrivalMs, tier }),
    requestKeyframe: (trackId) => post({ op: 'keyframeRequest', trackId }),
    onError: (message) => post({ op: 'error', message }),
  });
  let audioPublishers = new Map<string, string>();
  port.on('message', (message: ToThread) => {
    switch (message.op) {
      case 'addInput':
        return mixer.addInput(message.track, message.description);
      case 'packet':
        return mixer.receive(message.track, Buffer.from(message.packet.buffer, message.packet.byteOffset, message.packet.byteLength), message.arrivalMs, message.layer);
      case 'removeInput':
        return mixer.removeInput(message.trackId);
      case 'removeInputsOf':
        return mixer.removeInputsOf(message.participant);
      case 'listener':
        mixer.setListener(message.participant, message.listening);
        if (message.listening && message.tier !== undefined) mixer.setTier(message.participant, message.tier);
        return;
      case 'speaker':
        return mixer.setSpeaker(message.participant);
      case 'keyframe':
        return mixer.requestKeyframe(message.listener, message.tier);
      case 'audioPublishers':
        audioPublishers = new Map(message.participants);
        return;
      case 'close':
        clearInterval(clock);
        mixer.close();
        // Killed, but reaped by this thread's loop only: a thread terminated at once leaves them
        // zombies for the process's life (checked). SIGKILLed processes are gone in milliseconds.
        setTimeout(() => post({ op: 'closed' }), REAP_MS);
        return;
    }
  });
  // The grids' clock: a tick at the highest tier's frame rate (lower tiers take every n-th), each
  // grid drawn from each input's newest decoded picture.
  const clock = setInterval(() => {
    mixer.tick(audioPublishers);
    post({ op: 'stats', draws: mixer.draws, decoderStarts: mixer.decoderStarts });
  }, tickMs(settings.tiers));
}

if (!isMainThread && (workerData as { tiers?: unknown } | null)?.tiers) runThread();
