import { randomUUID } from 'node:crypto';
import type { ErrorCode, Grants, ParticipantInfo, ServerMessage, TrackSource, VideoCodec } from '@parley/protocol';

/** What a room needs from the connection behind a participant. */
export interface ParticipantLink {
  send(message: ServerMessage): void;
  /** Sends a fatal error and closes the connection; the link must not report a leave afterwards. */
  terminate(code: ErrorCode, message: string, closeCode: number): void;
}

/** Where a suspended participant's messages go while its connection is down: nowhere. */
const detachedLink: ParticipantLink = { send: () => undefined, terminate: () => undefined };

export class Participant {
  readonly joinedAt = Date.now();
  /** Secret of this membership: a new connection presenting it resumes instead of rejoining. */
  readonly sessionId = randomUUID();
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly trackMuted = new Map<TrackSource, boolean>();

  constructor(
    readonly identity: string,
    readonly name: string,
    readonly grants: Grants,
    public link: ParticipantLink,
    /** Video codecs this participant's browser decodes (what the SFU may forward to it). */
    readonly decodes: VideoCodec[] = ['vp8'],
  ) {}

  /** Tracks published through the SFU: track id -> source. */
  readonly publishedTracks = new Map<string, TrackSource>();

  get suspended(): boolean {
    return this.graceTimer !== undefined;
  }

  /** The connection dropped: keep the membership for `graceMs`, then call `expire`. */
  suspend(graceMs: number, expire: () => void): void {
    this.link = detachedLink;
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      expire();
    }, graceMs);
    this.graceTimer.unref();
  }

  /** A new connection took over this membership. */
  resume(link: ParticipantLink): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.link = link;
  }

  setTrackMuted(source: TrackSource, muted: boolean): void {
    this.trackMuted.set(source, muted);
  }

  info(): ParticipantInfo {
    return {
      identity: this.identity,
      name: this.name,
      joinedAt: this.joinedAt,
      grants: this.grants,
      tracks: [...this.trackMuted].map(([source, muted]) => ({ source, muted })),
    };
  }
}
