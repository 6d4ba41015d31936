import type { RecordingSummary } from '@parley/protocol';
import { ParleyError } from '../errors.js';
import { log } from '../log.js';
import { BrowserRecorder } from './browser-recorder.js';
import { CanvasCompositor } from './canvas-compositor.js';
import { selfCanvasSize } from './canvas-layout.js';
import { RecordingsApi } from './recordings-api.js';
import { ChunkStore } from './chunk-store.js';
import { resumeUpload, type ResumedRecording } from './upload-resume.js';

export type RecordingOptions = BrowserRecordingOptions | ServerRecordingOptions;

/**
 * The server records every track the room publishes on its SFU, each to its own file (needs
 * `canRecord`); `composite` also makes one file of them after the stop: the speaker large, the others in a strip,
 * every voice mixed.
 */
export interface ServerRecordingOptions {
  mode: 'tracks' | 'composite';
}

export interface BrowserRecordingOptions {
  /** `browser`: this browser records and uploads. */
  mode: 'browser';
  /** `self` (default): this participant's camera and microphone. `call`: the tiles as shown, everyone's audio mixed. */
  source?: 'self' | 'call';
  /** Preferred MediaRecorder mime type (default `video/webm;codecs=vp9,opus`, falling back to what the browser records). */
  mimeType?: string;
  /** Default 2.5 Mbit/s. */
  videoBitsPerSecond?: number;
  /** How often MediaRecorder hands over a chunk, which is then uploaded (default 1000 ms). */
  timesliceMs?: number;
}

export type StartedRecording = StartedBrowserRecording | StartedServerRecording;

export interface StartedBrowserRecording {
  id: string;
  mode: 'browser';
  /** The mime type MediaRecorder records with (the fallback when the preferred one is unsupported). */
  mimeType: string;
  /**
   * When MediaRecorder started (ms since the epoch): the file's time 0. A `self` recording starts
   * once the camera's first frame is drawn, up to a second after the call where WebAudio does not
   * run (docs/recording.md).
   */
  startedAt: number;
  /** The video bitrate MediaRecorder reports it was given (default 2.5 Mbit/s; a browser may adjust it). */
  videoBitsPerSecond: number;
  /** How often a chunk is handed over and uploaded (ms; default 1000). */
  timesliceMs: number;
}

export interface StartedServerRecording {
  id: string;
  mode: 'tracks' | 'composite';
}

export interface RecordingHost {
  /** The server's HTTP base URL, the token, the room and this participant: the upload's endpoint and credentials. */
  endpoint(): { baseUrl: string; token: string; room: string; identity: string };
  /** This participant's published camera and microphone now (source `self`); asked at every frame. */
  localTracks(): MediaStreamTrack[];
  /** This participant's name, or its identity: a `self` recording shows it while the camera is off. */
  localName(): string;
  /** Every video and audio track in the call, local and remote (source `call`). */
  callTracks(): { video: MediaStreamTrack[]; audio: MediaStreamTrack[] };
  acknowledged(id: string, bytes: number): void;
  failed(id: string, error: ParleyError): void;
}

/** The recordings this participant makes, and the ones running in the room (anyone's). */
export class RoomRecordings {
  private readonly own = new Map<string, { recorder: BrowserRecorder; compositor: CanvasCompositor }>();
  /** Server recordings this participant started: stopping them is a request to the server. */
  private readonly ownOnServer = new Set<string>();
  private readonly running = new Map<string, RecordingSummary>();
  private store: Promise<ChunkStore | undefined> | undefined;
  /** The REST API: server recordings' start and stop, the list, downloads. */
  readonly api: RecordingsApi;

  constructor(private readonly host: RecordingHost) {
    this.api = new RecordingsApi(() => host.endpoint());
  }

  /** Recordings running in the room now (consent: what the indicator shows). */
  get active(): RecordingSummary[] {
    return [...this.running.values()];
  }

  /** A `recordingChanged` event: answers whether it changes what is known. */
  update(recording: RecordingSummary): void {
    if (recording.status === 'recording') this.running.set(recording.id, recording);
    else this.running.delete(recording.id);
  }

  async start(options: RecordingOptions): Promise<StartedRecording> {
    if (options.mode === 'tracks' || options.mode === 'composite') return this.startOnServer(options);
    if (options.mode !== 'browser') throw new ParleyError('INVALID_ARGUMENT', `recording mode ${String((options as { mode: unknown }).mode)} is not available: use 'browser', 'tracks' or 'composite'`);
    return this.startInBrowser(options);
  }

  private async startInBrowser(options: BrowserRecordingOptions): Promise<StartedBrowserRecording> {
    const source = options.source ?? 'self';
    const { baseUrl, token, room, identity } = this.host.endpoint();
    const store = await this.chunkStore();
    const { compositor, stream } = source === 'call' ? this.callStream() : await this.selfStream();
    let id = '';
    try {
      const recorder = await BrowserRecorder.start({
        endpoint: `${baseUrl}/api/rooms/${encodeURIComponent(room)}/recordings/uploads`,
        token,
        stream,
        source,
        ...(options.mimeType ? { mimeType: options.mimeType } : {}),
        ...(options.videoBitsPerSecond ? { videoBitsPerSecond: options.videoBitsPerSecond } : {}),
        ...(options.timesliceMs ? { timesliceMs: options.timesliceMs } : {}),
        ...(store ? { persist: { store, room, identity } } : {}),
        onAcknowledged: (bytes) => this.host.acknowledged(id, bytes),
        onFailed: (error) => {
          this.release(id);
          this.host.failed(id, error);
        },
      });
      id = recorder.id;
      this.own.set(id, { recorder, compositor });
      return { id, mode: 'browser', mimeType: recorder.mimeType, startedAt: recorder.startedAt, videoBitsPerSecond: recorder.videoBitsPerSecond, timesliceMs: recorder.timesliceMs };
    } catch (error) {
      compositor.close();
      throw error;
    }
  }

  /** The call as this participant sees it: every video in a grid, everyone's audio mixed. */
  private callStream(): { compositor: CanvasCompositor; stream: MediaStream } {
    const compositor = new CanvasCompositor(() => this.host.callTracks());
    return { compositor, stream: compositor.stream };
  }

  /**
   * This participant's camera and microphone, whichever tracks they are now: the camera drawn
   * into a canvas of its size (the placeholder while it is off), the microphone through the
   * WebAudio mix, so turning either off and on again (a new track), switching devices or
   * re-publishing is recorded as it happens. MediaRecorder starts once the camera's first frame
   * is drawn. Where WebAudio does not run (Firefox with no audio output device, or without a
   * user gesture) the microphone track itself is recorded: it does not follow a new microphone
   * track then, but the recording has sound.
   */
  private async selfStream(): Promise<{ compositor: CanvasCompositor; stream: MediaStream }> {
    const own = () => {
      const tracks = this.host.localTracks();
      return { video: tracks.filter((t) => t.kind === 'video'), audio: tracks.filter((t) => t.kind === 'audio') };
    };
    const camera = own().video[0];
    const compositor = new CanvasCompositor(own, { size: selfCanvasSize(camera?.getSettings()), placeholderName: () => this.host.localName() });
    const [mixRunning] = await Promise.all([compositor.audioRunning(AUDIO_START_TIMEOUT_MS), compositor.firstFrames(FIRST_FRAME_TIMEOUT_MS)]);
    const tracks = selfRecordingTracks(compositor.video, compositor.mixedAudio, mixRunning, own().audio[0]);
    if (!mixRunning) log.debug('WebAudio does not run: the self recording records the microphone track itself');
    return { compositor, stream: new MediaStream(tracks) };
  }

  /** Stops one of this participant's recordings; resolves once the server has every byte (browser) or has closed the raw files (tracks). */
  async stop(id: string): Promise<void> {
    if (this.ownOnServer.has(id)) {
      await this.api.request('POST', `/${encodeURIComponent(id)}/stop`);
      this.ownOnServer.delete(id);
      return;
    }
    const entry = this.own.get(id);
    if (!entry) throw new ParleyError('RECORDING_NOT_FOUND', `no recording ${id} of this participant is running`);
    try {
      await entry.recorder.stop();
    } finally {
      this.release(id);
    }
  }

  /**
   * Stops every browser recording of this participant (leaving the room): MediaRecorder hands
   * over its last chunk and the upload declares its length, so the server finishes the file at
   * once instead of waiting for the upload to go idle. Each recorder is stopped synchronously,
   * before the caller stops the tracks. Resolves once every upload is complete, or after
   * `timeoutMs` with the uploads going on in the background (a server away is retried for about
   * two minutes; `recordingFailed` tells if it never comes back). Server recordings are left
   * running: they stop with the room, or by request.
   */
  async finishAll(timeoutMs: number): Promise<void> {
    const stopping = [...this.own.keys()].map((id) =>
      // A failed upload was already told through recordingFailed.
      this.stop(id).catch((error: unknown) => log.debug(`recording ${id} did not finish`, error)),
    );
    if (stopping.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(stopping), waited]);
    clearTimeout(timer);
  }

  /**
   * Finishes the uploads of this participant's browser recordings in this room that a previous
   * page left unfinished (a reload, a closed tab): their chunks kept in IndexedDB are sent from
   * the server's offset and the length declared. One at a time; resolves when all are settled.
   */
  async resume(): Promise<ResumedRecording[]> {
    const store = await this.chunkStore();
    if (!store) return [];
    const { token, room, identity } = this.host.endpoint();
    const results: ResumedRecording[] = [];
    for (const persisted of await store.uploads(room, identity)) {
      results.push(await resumeUpload(store, persisted, token, (bytes) => this.host.acknowledged(persisted.id, bytes)));
    }
    return results;
  }

  private chunkStore(): Promise<ChunkStore | undefined> {
    this.store ??= ChunkStore.open().catch((error: unknown) => {
      log.debug('IndexedDB is not available: recordings are not kept for a reload', error);
      return undefined;
    });
    return this.store;
  }

  /** Bytes of `id` the server acknowledged (on its disk). */
  acknowledgedBytes(id: string): number {
    return this.own.get(id)?.recorder.acknowledgedBytes ?? 0;
  }

  private async startOnServer(options: ServerRecordingOptions): Promise<StartedServerRecording> {
    const started = (await this.api.request('POST', '', { mode: options.mode })) as { id?: unknown };
    if (typeof started.id !== 'string') throw new ParleyError('INVALID_RESPONSE', 'the server started a recording without an id');
    this.ownOnServer.add(started.id);
    return { id: started.id, mode: options.mode };
  }

  private release(id: string): void {
    this.own.get(id)?.compositor.close();
    this.own.delete(id);
  }
}

/** How long a `self` recording waits for WebAudio to run before it records the microphone track itself. */
export const AUDIO_START_TIMEOUT_MS = 1000;
/** How long a `self` recording waits for the camera's first frame before it starts anyway. */
export const FIRST_FRAME_TIMEOUT_MS = 1000;

/**
 * The tracks a `self` recording's MediaRecorder gets: the canvas, and the microphone through the
 * mix when WebAudio runs; otherwise the microphone track as it is now, if there is one (a
 * suspended AudioContext's track has no data, and MediaRecorder would wait for it).
 */
export function selfRecordingTracks<T>(canvas: T, mix: T | undefined, mixRunning: boolean, microphone: T | undefined): T[] {
  const audio = mixRunning ? mix : microphone;
  return audio === undefined ? [canvas] : [canvas, audio];
}

/** The HTTP base of a server URL given as http(s)://host:port[/...] or ws(s)://host:port/ws. */
export function httpBase(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 'https:' : 'http:';
  return parsed.origin;
}
