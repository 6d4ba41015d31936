/** Moving from P2P to the SFU: wait at most this long for the SFU's media before switching anyway. */
export const SFU_SWITCH_TIMEOUT_MS = 5000;
/** Direct links still open this long after a move to the SFU are closed whatever the SFU reported. */
export const DIRECT_LINK_MAX_OVERLAP_MS = 10_000;

export interface TopologyMoveOptions {
  /**
   * The room's direct links by identity: the room's own map, not a copy. A link made redundant by
   * the SFU is closed and removed from it here.
   */
  links: Map<string, { close(): void }>;
  /** Whether the room is on the SFU now. */
  onSfu(): boolean;
  /** How many tracks `identity` announced; undefined when it is not in the room. */
  remoteTrackCount(identity: string): number | undefined;
  /** Ids the SFU gave our published tracks. */
  publishedTrackIds(): readonly string[];
}

/**
 * Make before break, when a room moves from P2P to the SFU: each direct link stays open until
 * media flows through the SFU both ways with that participant, so nobody's picture stops. This
 * side sees what it shows (`showing`: every track the other announced, each once it shows frames);
 * what the other side receives the SFU reports (`trackDelivered`, sent when a subscriber's first
 * packet of a track goes out: for video, the first keyframe, since a subscriber's layer starts at one).
 */
export class TopologyMove {
  /** How many of each participant's tracks are shown here from the SFU... */
  private readonly shownThroughSfu = new Map<string, number>();
  /** ...and which of our track ids the SFU already delivers to whom. */
  private readonly deliveredThroughSfu = new Map<string, Set<string>>();

  constructor(private readonly options: TopologyMoveOptions) {}

  /** The topology changed, either way: what was learnt about an earlier move no longer holds. */
  reset(): void {
    this.shownThroughSfu.clear();
    this.deliveredThroughSfu.clear();
  }

  /** The room moved to the SFU: links still open after `DIRECT_LINK_MAX_OVERLAP_MS` close anyway, unless the room left the SFU meanwhile. */
  limitOverlap(): void {
    setTimeout(() => {
      if (!this.options.onSfu()) return;
      for (const link of this.options.links.values()) link.close();
      this.options.links.clear();
    }, DIRECT_LINK_MAX_OVERLAP_MS);
  }

  /**
   * A track of `identity` through the SFU while its direct link still carries it: `show` it once
   * `ready` (for video: a frame decoded, so the picture passes from one track to the other without
   * a blank; `show` answers false when the participant left meanwhile), then the link may go.
   */
  replaceWhenReady(identity: string, ready: Promise<void>, show: () => unknown): void {
    void ready.then(() => {
      if (show() !== false) this.showing(identity);
    });
  }

  /** One more of `identity`'s tracks is shown here from the SFU. */
  showing(identity: string): void {
    this.shownThroughSfu.set(identity, (this.shownThroughSfu.get(identity) ?? 0) + 1);
    this.closeDirectLinkWhenMoved(identity);
  }

  /** The SFU reports that `to` receives our track `trackId`: a direct link to it may be redundant now. */
  delivered(trackId: string, to: string): void {
    let delivered = this.deliveredThroughSfu.get(to);
    if (!delivered) this.deliveredThroughSfu.set(to, (delivered = new Set()));
    delivered.add(trackId);
    this.closeDirectLinkWhenMoved(to);
  }

  /** Closes the direct link to `identity` once media flows through the SFU both ways. */
  private closeDirectLinkWhenMoved(identity: string): void {
    const { links, onSfu, remoteTrackCount, publishedTrackIds } = this.options;
    const link = links.get(identity);
    if (!link || !onSfu()) return;
    const redundant = directLinkRedundant({
      shownThroughSfu: this.shownThroughSfu.get(identity) ?? 0,
      remoteTracks: remoteTrackCount(identity),
      publishedTrackIds: publishedTrackIds(),
      deliveredTrackIds: this.deliveredThroughSfu.get(identity),
    });
    if (!redundant) return;
    link.close();
    links.delete(identity);
  }
}

/**
 * Whether a direct link has nothing left to carry after a move to the SFU: every track the other
 * announced is shown here from the SFU (or it sends nothing, or it left), and the SFU delivers
 * every one of ours to it (for video that is its first keyframe going out). Every track, not the
 * first: a voice through the SFU came before the picture's first keyframe (by 54 ms to over
 * 1.3 s in the runs traced in `e2e/sfu-call.test.ts`'s auto move), and closing the link on the
 * first froze the other's view of the picture until then: 1.3 s at a Firefox whose SFU video had
 * not arrived yet. A track that is never delivered
 * keeps the link until `DIRECT_LINK_MAX_OVERLAP_MS`.
 */
export function directLinkRedundant(state: {
  /** How many of the other's tracks are shown here from the SFU. */
  shownThroughSfu: number;
  /** Tracks the other announced; undefined when it is not in the room. */
  remoteTracks: number | undefined;
  publishedTrackIds: readonly string[];
  /** Our track ids the SFU reported delivered to the other. */
  deliveredTrackIds: ReadonlySet<string> | undefined;
}): boolean {
  const receiving = !state.remoteTracks || state.shownThroughSfu >= state.remoteTracks;
  const delivered = state.publishedTrackIds.every((trackId) => state.deliveredTrackIds?.has(trackId) === true);
  return receiving && delivered;
}

/** Resolves once a received track carries media (remote tracks start muted), or after `timeoutMs`. */
export function whenFlowing(track: Pick<MediaStreamTrack, 'muted' | 'addEventListener'>, timeoutMs = SFU_SWITCH_TIMEOUT_MS): Promise<void> {
  if (!track.muted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    track.addEventListener(
      'unmute',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
