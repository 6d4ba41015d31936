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
 * side sees what it receives (`receiving`); what the other side receives the SFU reports
 * (`trackDelivered`, sent when a subscriber's first packet of a track goes out).
 */
export class TopologyMove {
  /** Whose media already flows here through the SFU... */
  private readonly receivingThroughSfu = new Set<string>();
  /** ...and which of our track ids the SFU already delivers to whom. */
  private readonly deliveredThroughSfu = new Map<string, Set<string>>();

  constructor(private readonly options: TopologyMoveOptions) {}

  /** The topology changed, either way: what was learnt about an earlier move no longer holds. */
  reset(): void {
    this.receivingThroughSfu.clear();
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
   * its media flows (`show` answers false when the participant left meanwhile), then the link may go.
   */
  replaceWhenFlowing(identity: string, track: MediaStreamTrack, show: () => unknown): void {
    void whenFlowing(track).then(() => {
      if (show() !== false) this.receiving(identity);
    });
  }

  /** `identity`'s media now flows here through the SFU (and is shown from there). */
  receiving(identity: string): void {
    this.receivingThroughSfu.add(identity);
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
      receivingThroughSfu: this.receivingThroughSfu.has(identity),
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
 * Whether a direct link has nothing left to carry after a move to the SFU: we receive the other
 * through the SFU (or it sends nothing, or it left), and the SFU delivers at least one of our
 * tracks to it (or we publish nothing).
 */
export function directLinkRedundant(state: {
  receivingThroughSfu: boolean;
  /** Tracks the other announced; undefined when it is not in the room. */
  remoteTracks: number | undefined;
  publishedTrackIds: readonly string[];
  /** Our track ids the SFU reported delivered to the other. */
  deliveredTrackIds: ReadonlySet<string> | undefined;
}): boolean {
  const receiving = state.receivingThroughSfu || !state.remoteTracks;
  const delivered = state.publishedTrackIds.length === 0 || state.publishedTrackIds.some((trackId) => state.deliveredTrackIds?.has(trackId) === true);
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
