import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { subscriberPayloadTypes, type NegotiatedCodec, type VideoCodecName } from '../codecs.js';
import { parseRtcp } from '../rtp/rtcp.js';
import { isRtcp } from '../rtp/rtp.js';
import { subscriberOffer } from '../sdp.js';
import type { SubscribedTrack } from '../worker-protocol.js';
import { DownlinkController } from './downlink-controller.js';
import { Downstream, type DownstreamSource, type ForwardingCounters } from './downstream.js';
import { gatheringComplete, guarded, type MediaEngine } from './engine.js';

/** What a subscriber can receive: a published track, or an MCU room's mix (`mixed-track.ts`). */
export interface ForwardedTrack extends DownstreamSource {
  readonly id: string;
  /** Whose it is: the publisher, or for a mix the participant who hears it. */
  readonly publisher: string;
  readonly negotiatedCodec: NegotiatedCodec;
  readonly downstreams: Set<Downstream>;
}

export interface OfferSink {
  (sdp: string, tracks: SubscribedTrack[], offerId: number): void;
}

/** What became of a subscriber answer. */
export type AnswerOutcome =
  /** The answer to the offer waiting for one: applied. */
  | 'applied'
  /**
   * Not the answer to the offer waiting (an older offer's, one already answered, or none is
   * waiting): ignored. Harmless to the subscriber, whose answer to the latest offer is on its way
   * or already applied; refusing it into a fresh connection rebuilt every track (BENCHMARKS.md,
   * "Why sfu-8 does not finish").
   */
  | 'stale';

export interface SubscriberConnectionOptions {
  participant: string;
  engine: MediaEngine;
  counters: ForwardingCounters;
  sendOffer: OfferSink;
  onError: (message: string) => void;
  /** Higher gets the downlink first: screen shares, then the active speaker. */
  priorityOf: (track: ForwardedTrack | undefined) => number;
  /**
   * The number of the offer before this connection's first (0 when absent): a fresh connection
   * for the same participant (resubscribe) continues its predecessor's numbering, so an answer
   * to the old connection's offer can never be taken for one to the new connection's.
   */
  lastOfferId?: number;
}

const ANCHOR_MID = 'anchor';

interface Entry {
  track: ForwardedTrack;
  downstream: Downstream;
  mid: string;
}

/**
 * Everything one participant receives, on one PeerConnection the SFU offers: one m-line per
 * subscribed track, audio and video of a publisher in one stream so the browser keeps them in
 * sync. Adding or removing a track renegotiates; offers never overlap (the next waits for the answer).
 */
export class SubscriberConnection {
  private pc: PeerConnection | undefined;
  /** The connection's first m-line, never removed (see connection()); held so it is not collected. */
  private anchor: Track | undefined;
  private readonly entries = new Map<string, Entry>();
  private nextMid = 0;
  private negotiating = false;
  /** The number of the last offer made (`subscriberOffer.offerId`). */
  private lastOfferId: number;
  /** The number of the offer waiting for its answer: set with its local description, cleared by its answer. */
  private pendingOfferId: number | undefined;
  /** Whether the offer waiting went out (its gathering done), so a resume may send it again. */
  private pendingOfferSent = false;
  /** Bumped by every add and remove; an answer to an offer made before the last change calls for another offer. */
  private changes = 0;
  private offeredChanges = 0;
  private closed = false;
  readonly participant: string;
  private readonly engine: MediaEngine;
  private readonly counters: ForwardingCounters;
  private readonly sendOffer: OfferSink;
  private readonly onError: (message: string) => void;
  /** This connection's transport: its downlink estimate, and the layers and probes it drives. */
  private readonly downlink: DownlinkController;

  constructor(options: SubscriberConnectionOptions) {
    this.participant = options.participant;
    this.engine = options.engine;
    this.counters = options.counters;
    this.sendOffer = options.sendOffer;
    this.onError = options.onError;
    this.lastOfferId = options.lastOfferId ?? 0;
    const priorityOf = options.priorityOf;
    this.downlink = new DownlinkController(
      () => this.downstreams,
      (downstream) => priorityOf(this.trackOf(downstream)),
    );
  }

  /** Internal (tests, benchmarks): the downlink estimate held at most `bps` (undefined: lifted). */
  capDownlink(bps: number | undefined): void {
    this.downlink.setCap(bps);
  }

  /** Runs with the worker's poll: layers from the downlink estimate, probes. */
  poll(): void {
    this.downlink.poll();
  }

  private trackOf(downstream: Downstream): ForwardedTrack | undefined {
    for (const entry of this.entries.values()) if (entry.downstream === downstream) return entry.track;
    return undefined;
  }

  /** The number of the last offer made (0: none yet). */
  get offerId(): number {
    return this.lastOfferId;
  }

  get downstreams(): Downstream[] {
    return [...this.entries.values()].map((entry) => entry.downstream);
  }

  add(track: ForwardedTrack): void {
    if (this.closed || this.entries.has(track.id)) return;
    const pc = this.connection();
    const mid = String(this.nextMid++);
    const ssrc = randomSsrc();
    const codec = track.negotiatedCodec;
    const payloadType = subscriberPayloadTypes[codec.name];
    const streamId = `${track.publisher}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'participant';
    const description = mediaDescription(mid, codec, payloadType);
    description.addSSRC(ssrc, streamId, streamId, track.id);
    const engineTrack: Track = pc.addTrack(description);
    const downstream = new Downstream({ subscriber: this.participant, ssrc, payloadType, engineTrack, source: track, counters: this.counters, transport: this.downlink });
    engineTrack.onMessage(
      guarded('subscriber RTCP', (packet: Buffer) => {
        if (!isRtcp(packet)) return;
        const packets = parseRtcp(packet);
        // Transport-wide feedback is about the connection, whichever stream's SSRC it names.
        for (const rtcp of packets) {
          if (rtcp.type !== 'twcc') continue;
          this.counters.subscriberFeedbacks += 1;
          this.downlink.onFeedback(rtcp.feedback);
        }
        downstream.handleRtcp(packets);
      }),
    );
    // The first picture needs a keyframe the subscriber can decode: ask for it the moment the
    // stream can carry it, not at the next poll (up to 200 ms later, then up to 300 ms of the
    // publisher's request limit: 440 ms from DTLS to the first keyframe in bench:join's room of 2).
    engineTrack.onOpen(guarded('subscriber track open', () => downstream.poll()));
    track.downstreams.add(downstream);
    this.entries.set(track.id, { track, downstream, mid });
    this.renegotiate();
  }

  /**
   * Connects now, with nothing to receive yet (the anchor m-line alone): ICE and DTLS are done
   * before the first track comes, which then needs only a renegotiation on a connected transport.
   * A no-op once connected or closed.
   */
  open(): void {
    if (this.closed || this.pc) return;
    this.connection();
    this.renegotiate();
  }

  remove(trackId: string): void {
    const entry = this.entries.get(trackId);
    if (!entry) return;
    this.entries.delete(trackId);
    entry.track.downstreams.delete(entry.downstream);
    entry.downstream.close();
    try {
      entry.downstream.engineTrack.close();
    } catch {
      // the engine closed it with the connection
    }
    this.renegotiate();
  }

  /**
   * The browser's answer to offer `offerId` (undefined: to whichever is waiting). Only the offer
   * waiting for its answer takes one; any other answer is `stale` and changes nothing: a re-sent
   * offer answered twice, or an answer that arrives after the next offer started (both answers of
   * one offer in one read of the worker's IPC channel: the second came while `negotiating` was
   * already set for the next offer, before its local description, and libdatachannel refused it
   * in state `stable`). An answer the engine refuses ends this negotiation all the same, so the
   * connection is not left waiting for an answer forever; the SDK then asks for a fresh
   * connection (resubscribe).
   */
  applyAnswer(sdp: string, offerId?: number): AnswerOutcome {
    if (offerId !== undefined && offerId > this.lastOfferId) throw new Error(`no subscriber offer ${offerId} was made (the last is ${this.lastOfferId})`);
    if (!this.pc || this.pendingOfferId === undefined || (offerId !== undefined && offerId !== this.pendingOfferId)) return 'stale';
    this.negotiating = false;
    this.pendingOfferId = undefined;
    this.pc.setRemoteDescription(sdp, 'answer');
    if (this.changes !== this.offeredChanges) this.offerWhenIdle();
    return 'applied';
  }

  /** The offer waiting for an answer, once more (the first may have been lost with the signaling connection). */
  resendOffer(): void {
    const local = this.pc?.localDescription();
    if (this.pendingOfferId === undefined || !this.pendingOfferSent || !local) return;
    this.sendOffer(subscriberOffer(local.sdp, this.engine.options.announcedAddress), this.trackList(), this.pendingOfferId);
  }

  close(): void {
    this.closed = true;
    this.downlink.close();
    for (const trackId of [...this.entries.keys()]) {
      const entry = this.entries.get(trackId)!;
      entry.track.downstreams.delete(entry.downstream);
      entry.downstream.close();
    }
    this.entries.clear();
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    this.pc = undefined;
    this.anchor = undefined;
  }

  private trackList(): SubscribedTrack[] {
    return [...this.entries.values()].map(({ track, mid }) => ({ mid, trackId: track.id, participant: track.publisher, source: track.source, kind: track.kind }));
  }

  private connection(): PeerConnection {
    if (!this.pc) {
      this.pc = this.engine.createPeerConnection(`sub-${this.participant}`);
      // libdatachannel cannot renegotiate once the first m-line (the BUNDLE tag its transport
      // belongs to) has been removed: the browser answers it rejected and the next offer is
      // never made or never applied. An inactive m-line that lives as long as the connection
      // stays first, so removing any track is a plain rejected m-line.
      this.anchor = this.pc.addTrack(anchorDescription());
    }
    return this.pc;
  }

  private renegotiate(): void {
    this.changes += 1;
    this.offerWhenIdle();
  }

  /**
   * Makes the next offer, unless one is waiting for its answer (then the answer calls this). The
   * offer is made after the current turn, so tracks added together (a newcomer's whole room, on
   * join) go in one offer: made at once, the first offer carried the first track only and the
   * others waited for a second offer and answer (bench:join: the newcomer's first frame of the
   * last of seven others came a whole renegotiation after the first).
   */
  private offerWhenIdle(): void {
    if (this.closed || !this.pc || this.negotiating) return;
    this.negotiating = true;
    const pc = this.pc;
    void (async () => {
      // Also lets tracks added in this turn join the offer. No await between reserve() and the
      // gathering setLocalDescription (engine.ts).
      await this.engine.reserve(pc);
      if (this.closed || pc !== this.pc) return;
      this.offeredChanges = this.changes;
      pc.setLocalDescription();
      const offerId = ++this.lastOfferId;
      this.pendingOfferId = offerId;
      this.pendingOfferSent = false;
      await gatheringComplete(pc);
      if (this.closed || pc !== this.pc) return;
      const local = pc.localDescription();
      if (!local) throw new Error('the engine produced no offer');
      // Said, not refused: an offer without this side's candidates leaves the browser nothing to check against.
      if (pc.gatheringState() !== 'complete') this.onError(`the subscriber offer for ${this.participant} went out before ICE gathering completed (${(local.sdp.match(/^a=candidate:/gm) ?? []).length} candidates)`);
      this.sendOffer(subscriberOffer(local.sdp, this.engine.options.announcedAddress), this.trackList(), offerId);
      this.pendingOfferSent = true;
    })().catch((error: unknown) => {
      this.negotiating = false;
      this.pendingOfferId = undefined;
      this.onError(`subscriber negotiation for ${this.participant} failed: ${(error as Error).message}`);
    });
  }
}

/** The m-line for one forwarded track, with the publisher's codec parameters (H.264 profile, VP9 profile). */
function mediaDescription(mid: string, codec: NegotiatedCodec, payloadType: number): nodeDataChannel.Audio | nodeDataChannel.Video {
  if (codec.name === 'opus') {
    const audio = new nodeDataChannel.Audio(mid, 'SendOnly');
    audio.addOpusCodec(payloadType, 'minptime=10;useinbandfec=1');
    return audio;
  }
  const video = new nodeDataChannel.Video(mid, 'SendOnly');
  const names: Record<VideoCodecName, string> = { vp8: 'VP8', vp9: 'VP9', h264: 'H264', av1: 'AV1' };
  if (codec.fmtp) video.addVideoCodec(payloadType, names[codec.name], codec.fmtp);
  else if (codec.name === 'vp8') video.addVP8Codec(payloadType);
  else if (codec.name === 'vp9') video.addVP9Codec(payloadType);
  else if (codec.name === 'av1') video.addAV1Codec(payloadType);
  else video.addH264Codec(payloadType);
  return video;
}

/** Carries no media: the browser creates no track for an inactive m-line. */
function anchorDescription(): nodeDataChannel.Audio {
  const audio = new nodeDataChannel.Audio(ANCHOR_MID, 'Inactive');
  audio.addOpusCodec(subscriberPayloadTypes.opus);
  return audio;
}

function randomSsrc(): number {
  return (Math.floor(Math.random() * 0xfffffff0) + 2) >>> 0;
}
