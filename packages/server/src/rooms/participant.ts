import type { ErrorCode, Grants, ParticipantInfo, ServerMessage, TrackSource, VideoCodec } from '@parley/protocol';

/** What a room needs from the connection behind a participant. */
export interface ParticipantLink {
  send(message: ServerMessage): void;
  /** Sends a fatal error and closes the connection; the link must not report a leave afterwards. */
  terminate(code: ErrorCode, message: string, closeCode: number): void;
}

export class Participant {
  readonly joinedAt = Date.now();
  private readonly trackMuted = new Map<TrackSource, boolean>();

  constructor(
    readonly identity: string,
    readonly name: string,
    readonly grants: Grants,
    readonly link: ParticipantLink,
    /** Video codecs this participant's browser decodes (what the SFU may forward to it). */
    readonly decodes: VideoCodec[] = ['vp8'],
  ) {}

  /** Tracks published through the SFU: track id -> source. */
  readonly publishedTracks = new Map<string, TrackSource>();

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
