import { randomUUID } from 'node:crypto';
import { CallQualityRecord } from '../analytics/call-quality.js';
import { versioned, type ConnectionQuality, type ErrorCode, type Grants, type ParticipantInfo, type ServerMessageBody, type ReceiveMode, type TrackSource, type VideoCodec } from '@parley/protocol';

/**
 * A server message serialized once for many recipients (a room's broadcast): the same bytes go to
 * every socket. Serialized per recipient, a room of 50 would build 49 strings and 49 buffers for
 * each arrival.
 */
export class EncodedMessage {
  private constructor(readonly bytes: Buffer) {}

  static encode(message: ServerMessageBody): EncodedMessage {
    return new EncodedMessage(Buffer.from(JSON.stringify(versioned(message))));
  }
}

/** What a room needs from the connection behind a participant. */
export interface ParticipantLink {
  send(message: ServerMessageBody): void;
  /** Sends a message already serialized (a broadcast), as `send` would send it. */
  sendEncoded(message: EncodedMessage): void;
  /** Sends a fatal error and closes the connection; the link must not report a leave afterwards. */
  terminate(code: ErrorCode, message: string, closeCode: number): void;
  /**
   * Ends the connection at once, with no error and no close frame, as a network failure would
   * (how tests drop a participant's connection); the participant is then suspended as for any drop.
   */
  drop(): void;
}

export interface ParticipantAggregates {
  identity: string;
  joinedAt: number;
  connectionQuality: ConnectionQuality | undefined;
  /** Whole seconds spent in each quality the participant reported. */
  secondsByQuality: Record<ConnectionQuality, number>;
  qualityChanges: number;
  publishedTracks: number;
  /** Its connection dropped and it is waiting to resume. */
  suspended: boolean;
}

export interface ParticipantOptions {
  identity: string;
  /** The display name (the token's `name`, else the identity). */
  name: string;
  grants: Grants;
  link: ParticipantLink;
  /** Video codecs the participant's browser decodes; VP8 when it did not say. */
  decodes?: VideoCodec[] | undefined;
  /** The others' voices as one track each (`tracks`, the default) or as the server's mix (`ReceiveMode`). */
  receive?: ReceiveMode | undefined;
}

/** Where a suspended participant's messages go while its connection is down: nowhere. */
const detachedLink: ParticipantLink = { send: () => undefined, sendEncoded: () => undefined, terminate: () => undefined, drop: () => undefined };

export class Participant {
  readonly joinedAt = Date.now();
  /** Secret of this membership: a new connection presenting it resumes instead of rejoining. */
  readonly sessionId = randomUUID();
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly trackMuted = new Map<TrackSource, boolean>();

  readonly identity: string;
  readonly name: string;
  readonly grants: Grants;
  link: ParticipantLink;
  /** Video codecs this participant's browser decodes (what the SFU may forward to it). */
  readonly decodes: VideoCodec[];
  /** The others' voices as one track each, or as the server's mix (`ReceiveMode`). */
  readonly receive: ReceiveMode;

  constructor({ identity, name, grants, link, decodes = ['vp8'], receive = 'tracks' }: ParticipantOptions) {
    this.identity = identity;
    this.name = name;
    this.grants = grants;
    this.link = link;
    this.decodes = decodes;
    this.receive = receive;
  }

  private quality: { current: ConnectionQuality; since: number } | undefined;
  /** Milliseconds spent in each reported connection quality, for the metrics endpoint. */
  private readonly qualityMs: Record<ConnectionQuality, number> = { excellent: 0, good: 0, poor: 0, lost: 0 };
  private qualityChanges = 0;

  /** Its call as its quality reports describe it (analytics: webhooks, metrics). */
  readonly callQuality = new CallQualityRecord();

  /** Tracks published through the SFU: track id -> source. */
  readonly publishedTracks = new Map<string, TrackSource>();
  /**
   * The client's publication names (`publishTrack`'s `cid`) -> the track id each was published as:
   * a request sent again replaces its first publication. An entry whose track id is no longer in
   * `publishedTracks` (unpublished, or media restored after a worker restart) is stale.
   */
  readonly publicationCids = new Map<string, string>();

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

  /** As the participant last reported it. */
  get connectionQuality(): ConnectionQuality | undefined {
    return this.quality?.current;
  }

  /** Records a reported quality; returns false when it did not change. */
  reportConnectionQuality(quality: ConnectionQuality, now = Date.now()): boolean {
    if (this.quality?.current === quality) return false;
    if (this.quality) this.qualityMs[this.quality.current] += now - this.quality.since;
    this.quality = { current: quality, since: now };
    this.qualityChanges += 1;
    return true;
  }

  /** Aggregates for the metrics endpoint: time in each quality (the current one counted up to now). */
  aggregates(now = Date.now()): ParticipantAggregates {
    const secondsByQuality = { ...this.qualityMs };
    if (this.quality) secondsByQuality[this.quality.current] += now - this.quality.since;
    for (const key of Object.keys(secondsByQuality) as ConnectionQuality[]) secondsByQuality[key] = Math.round(secondsByQuality[key] / 1000);
    return {
      identity: this.identity,
      joinedAt: this.joinedAt,
      connectionQuality: this.connectionQuality,
      secondsByQuality,
      qualityChanges: this.qualityChanges,
      publishedTracks: this.publishedTracks.size,
      suspended: this.suspended,
    };
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
