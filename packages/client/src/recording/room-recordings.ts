import type { RecordingSummary } from '@parley/protocol';
import { ParleyError } from '../errors.js';
import { BrowserRecorder } from './browser-recorder.js';
import { CallCompositor } from './call-compositor.js';

export interface RecordingOptions {
  /** `browser`: this browser records and uploads. (`tracks` and `composite` are server recordings, not built yet.) */
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

export interface StartedRecording {
  id: string;
  /** The mime type MediaRecorder records with (the fallback when the preferred one is unsupported). */
  mimeType: string;
}

export interface RecordingHost {
  /** The server's HTTP base URL, the token and the room: the upload's endpoint and credentials. */
  endpoint(): { baseUrl: string; token: string; room: string };
  /** This participant's published tracks (source `self`). */
  localTracks(): MediaStreamTrack[];
  /** Every video and audio track in the call, local and remote (source `call`). */
  callTracks(): { video: MediaStreamTrack[]; audio: MediaStreamTrack[] };
  acknowledged(id: string, bytes: number): void;
  failed(id: string, error: ParleyError): void;
}

/** The recordings this participant makes, and the ones running in the room (anyone's). */
export class RoomRecordings {
  private readonly own = new Map<string, { recorder: BrowserRecorder; compositor?: CallCompositor }>();
  private readonly running = new Map<string, RecordingSummary>();

  constructor(private readonly host: RecordingHost) {}

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
    if (options.mode !== 'browser') throw new ParleyError('INVALID_ARGUMENT', `recording mode ${String(options.mode)} is not available yet: use 'browser'`);
    const source = options.source ?? 'self';
    let compositor: CallCompositor | undefined;
    let stream: MediaStream;
    if (source === 'call') {
      compositor = new CallCompositor(() => this.host.callTracks());
      stream = compositor.stream;
    } else {
      const tracks = this.host.localTracks();
      if (tracks.length === 0) throw new ParleyError('INVALID_ARGUMENT', 'nothing to record: turn the camera or microphone on first');
      stream = new MediaStream(tracks);
    }
    const { baseUrl, token, room } = this.host.endpoint();
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
        onAcknowledged: (bytes) => this.host.acknowledged(id, bytes),
        onFailed: (error) => {
          this.release(id);
          this.host.failed(id, error);
        },
      });
      id = recorder.id;
      this.own.set(id, { recorder, ...(compositor ? { compositor } : {}) });
      return { id, mimeType: recorder.mimeType };
    } catch (error) {
      compositor?.close();
      throw error;
    }
  }

  /** Stops one of this participant's recordings; resolves once the server has every byte. */
  async stop(id: string): Promise<void> {
    const entry = this.own.get(id);
    if (!entry) throw new ParleyError('RECORDING_NOT_FOUND', `no recording ${id} of this participant is running`);
    try {
      await entry.recorder.stop();
    } finally {
      this.release(id);
    }
  }

  /** Bytes of `id` the server acknowledged (on its disk). */
  acknowledgedBytes(id: string): number {
    return this.own.get(id)?.recorder.acknowledgedBytes ?? 0;
  }

  private release(id: string): void {
    this.own.get(id)?.compositor?.close();
    this.own.delete(id);
  }
}

/** The HTTP base of a server URL given as http(s)://host:port[/...] or ws(s)://host:port/ws. */
export function httpBase(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 'https:' : 'http:';
  return parsed.origin;
}
