import type { TrackSource } from '@parley/protocol';
import { whenFlowing } from './topology-move.js';

/**
 * After the room's SFU connection is handed over, how long it stays open once everyone it served
 * is served by the new one: the others' browsers swap to our new tracks when they decode them,
 * a moment after the new SFU reported delivering them.
 */
export const HANDOVER_LINGER_MS = 2000;
/** A handover still running this long after the rejoin ends anyway (the old node may be dead). */
export const HANDOVER_MAX_MS = 10_000;
/** How long a new SFU track may take to show frames before it replaces the old one anyway. */
export const NEW_TRACK_FRAMES_TIMEOUT_MS = 5000;

/** The old SFU connection, as far as the handover needs it. */
export interface RetiringConnection {
  close(): void;
}

/** A remote participant, as far as the handover needs it: the tracks shown for its sources. */
export interface ShownParticipant {
  readonly tracks: ReadonlyMap<TrackSource, { track: MediaStreamTrack | undefined }>;
}

export interface NodeHandoverOptions<P extends ShownParticipant> {
  /** The room's participants by identity: its own map, not a copy. */
  participants: ReadonlyMap<string, P>;
  /** Ids the new SFU gave our published tracks. */
  publishedTrackIds(): readonly string[];
  /** Whether we have tracks to publish (then the others must receive one through the new SFU). */
  publishing(): boolean;
  /** The handover ended and this participant of the old room never came back: the room removes it. */
  leave(identity: string): void;
  /** The handover ended with this old track still shown: the room unsubscribes it. */
  unsubscribe(participant: P, source: TrackSource, track: MediaStreamTrack): void;
}

/**
 * Make before break when the room's membership starts over on another node (a drained node shed
 * its connections, and the SDK joined the room again where it is placed now). Signaling cannot
 * move a membership between nodes, but media does not need it: the old node keeps serving its SFU
 * media while the SDK publishes and subscribes on the new one, so the room keeps the old SFU
 * connection (`retiring`, cut off from signaling) and its participants as they were:
 *
 * - a participant of the old room who joins the new one is the same participant (no leave, no
 *   join: `returned`), and its tracks stay shown from the old node until the new node's show frames
 *   (`whenShowingFrames`, then the room replaces them);
 * - the old connection closes `HANDOVER_LINGER_MS` after every participant of the old room is back
 *   and receives us through the new SFU (`delivered`: its `trackDelivered`) and we show its new
 *   tracks; closing it is what tells the draining node this participant has moved (its media stops);
 * - whatever is not done after `HANDOVER_MAX_MS` (someone who never came back, a dead old node)
 *   ends anyway: those participants leave, the old tracks are unsubscribed.
 *
 * The draining node's half is `packages/server/src/cluster/drain.ts` (docs/cluster.md).
 */
export class NodeHandover<P extends ShownParticipant, C extends RetiringConnection = RetiringConnection> {
  /** The old node's SFU connection while the handover runs. */
  retiring: C | undefined;
  /** Participants of the old room, and whether each came back in the new one. */
  private readonly carried = new Map<string, boolean>();
  private oldTracks = new Set<MediaStreamTrack>();
  private readonly deliveredTo = new Map<string, Set<string>>();
  private maxTimer: ReturnType<typeof setTimeout> | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: NodeHandoverOptions<P>) {}

  get active(): boolean {
    return this.retiring !== undefined;
  }

  /** The membership started over elsewhere: keep `retiring` and the participants it shows until the new node carries them. */
  begin(retiring: C, participants: Iterable<string>): void {
    this.end();
    this.retiring = retiring;
    for (const identity of participants) {
      this.carried.set(identity, false);
      for (const track of this.shownTracks(identity) ?? []) this.oldTracks.add(track);
    }
    this.maxTimer = setTimeout(() => this.end(), HANDOVER_MAX_MS);
    this.check();
  }

  /** `identity` joined the new room: true if it is a participant of the old one (the room keeps it, no leave or join). */
  returned(identity: string): boolean {
    if (!this.active || !this.carried.has(identity)) return false;
    this.carried.set(identity, true);
    this.check();
    return true;
  }

  /** Whether `track` came through the old connection. */
  isOldTrack(track: MediaStreamTrack | undefined): boolean {
    return track !== undefined && this.oldTracks.has(track);
  }

  /** A participant left: see whether the handover is done. */
  changed(): void {
    this.check();
  }

  /**
   * A new SFU track (receiver connection `pc`) for a source an old track shows: the old one stays
   * until the new one shows frames, then `show` replaces it.
   */
  replaceWhenShowing(pc: RTCPeerConnection | undefined, track: MediaStreamTrack, show: () => unknown): void {
    void whenShowingFrames(pc, track).then(() => {
      if (track.readyState !== 'ended') show();
      this.check();
    });
  }

  /** The new SFU reports that `to` receives our track `trackId`. */
  delivered(trackId: string, to: string): void {
    if (!this.active) return;
    let tracks = this.deliveredTo.get(to);
    if (!tracks) this.deliveredTo.set(to, (tracks = new Set()));
    tracks.add(trackId);
    this.check();
  }

  /** Closes the old connection now; participants that never came back and old tracks still shown go. */
  end(): void {
    clearTimeout(this.maxTimer);
    clearTimeout(this.lingerTimer);
    this.maxTimer = this.lingerTimer = undefined;
    const retiring = this.retiring;
    if (!retiring) return;
    this.retiring = undefined;
    retiring.close();
    const stale = [...this.carried].filter(([, back]) => !back).map(([identity]) => identity);
    const oldTracks = this.oldTracks;
    this.carried.clear();
    this.deliveredTo.clear();
    this.oldTracks = new Set();
    for (const identity of stale) this.options.leave(identity);
    for (const participant of this.options.participants.values()) {
      for (const [source, { track }] of participant.tracks) if (track && oldTracks.has(track)) this.options.unsubscribe(participant, source, track);
    }
  }

  private shownTracks(identity: string): MediaStreamTrack[] | undefined {
    const participant = this.options.participants.get(identity);
    return participant && [...participant.tracks.values()].flatMap(({ track }) => (track ? [track] : []));
  }

  private check(): void {
    if (!this.active || this.lingerTimer) return;
    const published = this.options.publishedTrackIds();
    for (const [identity, back] of this.carried) {
      const shown = this.shownTracks(identity);
      if (shown === undefined) continue; // left the new room: nothing to wait for
      if (!back || shown.some((track) => this.oldTracks.has(track))) return;
      if (this.options.publishing() && !published.some((id) => this.deliveredTo.get(identity)?.has(id))) return;
    }
    this.lingerTimer = setTimeout(() => this.end(), HANDOVER_LINGER_MS);
  }
}

/**
 * Resolves once a new video track shows frames (its receiver decoded one: `pc.getStats(track)`),
 * an audio track once media flows, or after `timeoutMs`.
 */
export async function whenShowingFrames(pc: RTCPeerConnection | undefined, track: MediaStreamTrack, timeoutMs = NEW_TRACK_FRAMES_TIMEOUT_MS): Promise<void> {
  if (track.kind !== 'video' || !pc) return whenFlowing(track, timeoutMs);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && track.readyState === 'live') {
    const decoded = await pc.getStats(track).then(
      (report) => [...report.values()].some((s: { type?: string; framesDecoded?: number }) => s.type === 'inbound-rtp' && (s.framesDecoded ?? 0) > 0),
      () => undefined,
    );
    if (decoded === undefined) return whenFlowing(track, Math.max(0, deadline - performance.now()));
    if (decoded) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
