import {
  CloseCode,
  ErrorCode,
  type LeaveReason,
  type RoomInfo,
  type ServerMessageBody,
  type Topology,
  type TopologyPolicy,
  type TrackSource,
  type VideoCodec,
} from '@parley/protocol';
import type { CallQualitySummary } from '../analytics/call-quality.js';
import { EncodedMessage, type Participant } from './participant.js';
import type { ParticipantQuality, ParticipantRef, RoomEvent, RoomRef } from './room-events.js';

/** The most participants a policy allows. A P2P room is a direct 1-1 call. */
const policyCapacity: Record<TopologyPolicy, number> = { p2p: 2, sfu: Infinity, mcu: Infinity, auto: Infinity };

/** How many departed participants' ratings room_finished carries at most. */
const MAX_DEPARTED_QUALITY = 1000;

export interface RoomSettings {
  maxParticipants: number;
  topology: TopologyPolicy;
  /** `auto` only: back to P2P when the room drops to two. */
  p2pWhenTwo: boolean;
  videoCodecs: VideoCodec[];
}

export type Admission = { ok: true } | { ok: false; code: ErrorCode; message: string };

/** One room: who is in it, and fan-out of room events. Knows nothing about sockets. */
export class Room {
  private readonly participants = new Map<string, Participant>();
  /** How media flows now; the media coordinator moves an `auto` room between the two. */
  topology: Topology;
  /** Whether room_started went out: a room whose first join was refused never started. */
  private started = false;
  /** The calls of those who left, for room_finished (bounded: a long webinar's churn). */
  private readonly departedQuality: ParticipantQuality[] = [];
  /** The worst send loss of anyone who left: what the others received may have crossed it. */
  private departedSendLoss = 0;
  /**
   * Server recordings running in this room: an `auto` room stays on the SFU while one runs (the
   * server records what the SFU receives), whatever its size.
   */
  sfuHolds = 0;
  /**
   * Who the SFU last announced as speaking, loudest first (SFU and MCU rooms). The SFU announces
   * only changes, so a newcomer is told this list when it joins and sees whoever is already
   * talking at once.
   */
  activeSpeakers: readonly string[] = [];

  constructor(
    readonly name: string,
    readonly settings: RoomSettings,
    private readonly emit: (event: RoomEvent) => void = () => {},
    resumeTopology?: Topology,
  ) {
    this.topology = settings.topology === 'mcu' ? 'mcu' : settings.topology === 'sfu' || (settings.topology === 'auto' && resumeTopology === 'sfu') ? 'sfu' : 'p2p';
  }

  ref(): RoomRef {
    return { name: this.name, topology: this.topology };
  }

  /** A track `participant` published now: the event for webhooks. */
  trackPublished(participant: Participant, track: { id: string; source: TrackSource; codec?: string }): void {
    this.emit({ event: 'track_published', room: this.ref(), participant: participantRef(participant), track });
  }

  trackUnpublished(participant: Participant, track: { id: string; source: TrackSource }): void {
    this.emit({ event: 'track_unpublished', room: this.ref(), participant: participantRef(participant), track });
  }

  /**
   * A participant's call so far, judged with what the rest of the room sent it (see
   * analytics/call-quality.ts); undefined before its first quality report.
   */
  qualityOf(participant: Participant): CallQualitySummary | undefined {
    if (participant.callQuality.empty) return undefined;
    let othersSendLoss = this.departedSendLoss;
    for (const other of this.participants.values()) if (other !== participant) othersSendLoss = Math.max(othersSendLoss, other.callQuality.sendLossRatio);
    return participant.callQuality.summary({ othersSendLoss });
  }

  /** Called by the registry when it forgets this room. */
  finished(): void {
    if (this.started) this.emit({ event: 'room_finished', room: this.ref(), quality: { participants: this.departedQuality } });
  }

  get capacity(): number {
    return Math.min(this.settings.maxParticipants, policyCapacity[this.settings.topology]);
  }

  /** The topology this room should have at its current size. */
  desiredTopology(): Topology {
    const { topology: policy, p2pWhenTwo } = this.settings;
    if (policy !== 'auto') return policy;
    if (this.participants.size >= 3 || this.sfuHolds > 0) return 'sfu';
    return this.topology === 'sfu' && !p2pWhenTwo ? 'sfu' : 'p2p';
  }

  participantList(): Participant[] {
    return [...this.participants.values()];
  }

  get size(): number {
    return this.participants.size;
  }

  info(): RoomInfo {
    return { name: this.name, topology: this.topology, maxParticipants: this.capacity };
  }

  get(identity: string): Participant | undefined {
    return this.participants.get(identity);
  }

  others(identity: string): Participant[] {
    return [...this.participants.values()].filter((p) => p.identity !== identity);
  }

  /**
   * Adds a participant. A participant with the same identity is replaced: the newer connection
   * wins, the older one is closed and everyone else sees it leave, so no ghost remains.
   */
  admit(participant: Participant): Admission {
    const previous = this.participants.get(participant.identity);
    const occupied = this.participants.size - (previous ? 1 : 0);
    if (occupied >= this.capacity) {
      const why =
        this.capacity < this.settings.maxParticipants
          ? `room ${this.name} is full: a ${this.settings.topology} call holds ${this.capacity} participants (group calls need the sfu or auto topology)`
          : `room ${this.name} is full (${this.capacity} participants)`;
      return { ok: false, code: ErrorCode.ROOM_FULL, message: why };
    }
    if (previous) {
      this.participants.delete(previous.identity);
      previous.link.terminate(ErrorCode.REPLACED, 'this identity joined the room from another connection', CloseCode.REPLACED);
      this.broadcast({ type: 'participantLeft', identity: previous.identity, reason: 'replaced' });
      this.emitLeft(previous, 'replaced');
    }
    if (!this.started) {
      this.started = true;
      this.emit({ event: 'room_started', room: this.ref() });
    }
    this.participants.set(participant.identity, participant);
    this.broadcast({ type: 'participantJoined', participant: participant.info() }, participant.identity);
    this.emit({ event: 'participant_joined', room: this.ref(), participant: participantRef(participant) });
    return { ok: true };
  }

  /** Removes `participant` if it is still the one registered under its identity. */
  remove(participant: Participant, reason: LeaveReason): boolean {
    if (this.participants.get(participant.identity) !== participant) return false;
    this.participants.delete(participant.identity);
    this.broadcast({ type: 'participantLeft', identity: participant.identity, reason });
    this.emitLeft(participant, reason);
    return true;
  }

  /** A leaving participant's tracks end with it: their unpublished events come first, as they happen. */
  private emitLeft(participant: Participant, reason: LeaveReason): void {
    for (const [id, source] of participant.publishedTracks) this.trackUnpublished(participant, { id, source });
    const quality = this.qualityOf(participant);
    if (quality && this.departedQuality.length < MAX_DEPARTED_QUALITY) {
      this.departedQuality.push({ identity: participant.identity, rating: quality.rating, issues: quality.issues, networkAtFault: quality.networkAtFault });
    }
    this.departedSendLoss = Math.max(this.departedSendLoss, participant.callQuality.sendLossRatio);
    this.emit({ event: 'participant_left', room: this.ref(), participant: participantRef(participant), reason, ...(quality ? { quality } : {}) });
  }

  broadcast(message: ServerMessageBody, exceptIdentity?: string): void {
    let encoded: EncodedMessage | undefined;
    for (const participant of this.participants.values()) {
      if (participant.identity === exceptIdentity) continue;
      encoded ??= EncodedMessage.encode(message);
      participant.link.sendEncoded(encoded);
    }
  }
}

function participantRef(participant: Participant): ParticipantRef {
  return { identity: participant.identity, name: participant.name };
}
