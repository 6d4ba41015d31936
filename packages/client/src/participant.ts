import type { ConnectionQuality, Grants, ParticipantInfo, TrackSource, VideoQuality } from '@parley/protocol';

export interface RemoteTrack {
  /** The received track, once subscribed. */
  track: MediaStreamTrack | undefined;
  /** What the publisher announced (muted camera, muted mic). */
  muted: boolean;
}

/** Someone else in the room. */
export class RemoteParticipant {
  private info: ParticipantInfo;
  private readonly subscribed = new Map<TrackSource, MediaStreamTrack>();
  /** As this participant last reported it (undefined until it does). */
  connectionQuality: ConnectionQuality | undefined;

  constructor(
    info: ParticipantInfo,
    private readonly qualityControl: (participant: RemoteParticipant, source: TrackSource, quality: VideoQuality) => Promise<void>,
  ) {
    this.info = info;
  }

  /**
   * Which simulcast layer to receive of this participant's video (SFU rooms; in a P2P call the
   * sender adapts by itself and this resolves without effect).
   */
  setVideoQuality(quality: VideoQuality, source: TrackSource = 'camera'): Promise<void> {
    return this.qualityControl(this, source, quality);
  }

  get identity(): string {
    return this.info.identity;
  }

  get name(): string {
    return this.info.name;
  }

  get grants(): Grants {
    return this.info.grants;
  }

  get joinedAt(): number {
    return this.info.joinedAt;
  }

  /** Every source this participant publishes or announced, with its track once received. */
  get tracks(): ReadonlyMap<TrackSource, RemoteTrack> {
    const tracks = new Map<TrackSource, RemoteTrack>();
    for (const { source, muted } of this.info.tracks) tracks.set(source, { track: this.subscribed.get(source), muted });
    for (const [source, track] of this.subscribed) if (!tracks.has(source)) tracks.set(source, { track, muted: false });
    return tracks;
  }

  /** The source `track` is shown for, if it is this participant's. */
  sourceOf(track: MediaStreamTrack): TrackSource | undefined {
    for (const [source, shown] of this.subscribed) if (shown === track) return source;
    return undefined;
  }

  /** @internal */
  updateInfo(info: ParticipantInfo): void {
    this.info = info;
  }

  /** @internal */
  setSubscribed(source: TrackSource, track: MediaStreamTrack | undefined): void {
    if (track) this.subscribed.set(source, track);
    else this.subscribed.delete(source);
  }
}
