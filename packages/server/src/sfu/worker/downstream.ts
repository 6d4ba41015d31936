import type { Track } from 'node-datachannel';
import type { ReceivedTrackSource } from '@parley/protocol';
import type { VideoCodecName } from '../rtp/keyframe.js';
import { buildDlrr, buildSenderReport, compactNtp, ntpFromMillis, type ReportBlock, type RtcpPacket } from '../rtp/rtcp.js';
import { readPictureNumbering, writePictureNumbering, type PictureNumbering } from '../rtp/picture-numbering.js';
import { paddingPacket, PADDING_TRANSPORT_OFFSET, SequenceOffsets } from '../rtp/padding.js';
import { RepairShare } from '../rtp/repair-share.js';
import { marker, payloadEnd, payloadOffset, rewriteHeader } from '../rtp/rtp.js';
import type { VideoQuality } from '../worker-protocol.js';
import type { DownlinkTransport } from './downlink-controller.js';
import { sendPacket } from './engine.js';
import { LayerController } from './layer-controller.js';

const HISTORY_SIZE = 1024;
const HISTORY_MASK = HISTORY_SIZE - 1;
const LOSS_WINDOW_MS = 1000;
/** libsrtp refuses to protect a packet older than its replay window (128): no point resending those. */
const RETRANSMIT_WINDOW = 120;
/** A probe never queues more than this (a stalled stream must not release a burst later). */
const MAX_PROBE_BACKLOG_BYTES = 16_000;
const MAX_PADDING_PACKETS_AT_ONCE = 40;
/**
 * A resend asked for again sooner than this (or the round trip) is taken for one already on its
 * way. Chromium asks again on a 20 ms timer once its round trip (~2 ms on a LAN, rrtr/DLRR) has
 * passed: traced under 7 % loss, 30 of 67 repeated requests came 6-18 ms after the resend, which
 * had been lost, and a 20 ms guard left each frame waiting another 20 ms for the next one.
 */
const MIN_RESEND_INTERVAL_MS = 5;
/**
 * Above this share of packets asked for, each frame's end is followed by a 1-byte padding packet
 * (FRAME_END_PADDING_BYTES): a frame's last packet lost on the way shows only when the next packet
 * arrives, the next frame ~50 ms later, and by then Chromium has moved on and drops the repaired
 * frame. Traced under 7 % random loss (720p, 20 fps, ~5 packets a frame), the frame whose last
 * packet was lost was in every near-freeze; with the padding it is asked for at once. One tiny
 * packet a frame, only for subscribers that lose packets.
 */
const FRAME_END_MARK_SHARE = 0.01;
const FRAME_END_PADDING_BYTES = 1;
/** Until receiver reports give a round trip. */
const DEFAULT_RTT_MS = 100;
/** What a downstream needs from the track it forwards. */
export interface DownstreamSource {
  readonly kind: 'audio' | 'video';
  /** Camera, microphone or screen: screen shares get the downlink first. */
  readonly source: ReceivedTrackSource;
  readonly codec: VideoCodecName | 'opus';
  readonly clockRate: number;
  readonly layerCount: number;
  /** Layers that carried packets in the last second, lowest first. */
  activeLayers(): number[];
  requestKeyframe(layer: number): void;
  /** The first packet went out to this subscriber: it now receives the track through the SFU. */
  delivered(subscriber: string): void;
  /** Bits per second a layer carried over the last second; undefined while it sends nothing. */
  layerBitrate(layer: number): number | undefined;
  /**
   * Each layer's rate when it is known rather than measured (an MCU grid's tiers, encoded at set
   * bitrates): the allocator takes these as they are, with no ratio between layers assumed.
   */
  readonly nominalLayerBps?: readonly number[] | undefined;
  /** The highest layer before the downlink says anything (default: the top one). */
  readonly startLayerCap?: number;
  /** The first picture from the wanted layer, not the lowest live one (default false). */
  readonly startsAtWanted?: boolean;
  /** The publisher's latest sender report for a layer, to translate into this subscriber's stream. */
  senderReport(layer: number): { ntpSeconds: number; ntpFraction: number; rtpTimestamp: number } | undefined;
}

/**
 * One packet from the publisher. Its buffer is shared by every subscriber and rewritten in place
 * for each, so what they need of the publisher's numbering is read once, before the fan-out.
 */
export interface IncomingPacket {
  readonly buffer: Buffer;
  readonly layer: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly numbering: PictureNumbering | undefined;
  /** The live layers, computed once per packet for every subscriber. */
  readonly activeLayers: readonly number[];
  /** Computed lazily, only while a switch waits for a keyframe. */
  isKeyframe(): boolean;
  /** Byte offset of the transport-wide sequence field (the subscribers' numbering), -1 if none. */
  readonly transportSequenceOffset: number;
  /**
   * `performance.now()` when the packet arrived: the send time of every copy, read once per packet
   * rather than once per subscriber (the fan-out of 20 takes ~0.1 ms; a clock read per copy was
   * ~1 % of the worker's CPU in `bench:sfu`'s profile).
   */
  readonly receivedAt: number;
  /** Payload bytes (what a sender report's octet count adds up), the same for every copy. */
  readonly payloadBytes: number;
}

export interface DownstreamOptions {
  subscriber: string;
  ssrc: number;
  payloadType: number;
  engineTrack: Track;
  source: DownstreamSource;
  counters: ForwardingCounters;
  /** The subscriber connection's transport-wide numbering; without it packets go out unnumbered. */
  transport?: DownlinkTransport;
}

export interface ForwardingCounters {
  packetsOut: number;
  /** RTP bytes (headers included) sent to subscribers. */
  bytesOut: number;
  /** Times a subscriber's forwarded simulcast layer changed (the first layer is not a switch). */
  layerSwitches: number;
  retransmissions: number;
  keyframeRequests: number;
  /** Padding-only packets sent to probe subscribers' downlinks. */
  probePackets: number;
  /** Transport-wide feedback packets received from subscribers. */
  subscriberFeedbacks: number;
}

/**
 * One published track as one subscriber receives it: its own SSRC, payload type, sequence
 * numbers, timestamps and VP8/VP9 picture numbers (continuous across simulcast layer switches,
 * which happen only on a keyframe), a history to answer NACKs, and sender reports for lip sync.
 */
export class Downstream {
  private currentLayer = -1;
  private readonly offsets = new SequenceOffsets();
  private timestampOffset = 0;
  private lastSequence = -1;
  private lastTimestamp = 0;
  private pictureIdOffset = 0;
  private tl0PicIdxOffset = 0;
  private lastPictureId = -1;
  private lastTl0PicIdx = -1;
  private lastSentAt = 0;
  private packetsSent = 0;
  private octetsSent = 0;
  private readonly history: (Buffer | undefined)[] = new Array(HISTORY_SIZE);
  private readonly historyTimestamps = new Uint32Array(HISTORY_SIZE);
  /** The outgoing sequence number each history slot holds (a slot can be stale after upstream loss). */
  private readonly historySequences = new Int32Array(HISTORY_SIZE).fill(-1);
  private readonly historyPictureIds = new Int32Array(HISTORY_SIZE);
  private readonly historyTl0PicIdxs = new Int32Array(HISTORY_SIZE);
  /** When each slot was last resent (NACK answers), -Infinity after it is (re)filled. */
  private readonly historyResentAt = new Float64Array(HISTORY_SIZE).fill(-Infinity);
  /** How much of what is sent the subscriber asks for: above FRAME_END_MARK_SHARE frame ends are marked. */
  private readonly repairs = new RepairShare();
  /** Compact NTP of each sender report sent -> when, for RTT from receiver reports. */
  private readonly reportTimes = new Map<number, number>();
  readonly layers: LayerController;
  private lossWindow: { since: number; highestSequence: number; totalLost: number } | undefined;
  rttMs: number | undefined;
  fractionLost = 0;
  closed = false;

  readonly subscriber: string;
  readonly ssrc: number;
  readonly payloadType: number;
  readonly engineTrack: Track;
  private readonly source: DownstreamSource;
  private readonly counters: ForwardingCounters;
  private readonly transport: DownlinkTransport | undefined;
  /** Probe padding still to send, in bytes. */
  private probeBytes = 0;
  /** The publisher sequence of the newest packet forwarded (lastSequence's, before the offset). */
  private lastUpstreamSequence = 0;

  constructor(options: DownstreamOptions) {
    this.subscriber = options.subscriber;
    this.ssrc = options.ssrc;
    this.payloadType = options.payloadType;
    this.engineTrack = options.engineTrack;
    this.source = options.source;
    this.counters = options.counters;
    this.transport = options.transport;
    this.layers = new LayerController(options.source.layerCount, options.source.startLayerCap, options.source.startsAtWanted);
  }

  get kind(): 'audio' | 'video' {
    return this.source.kind;
  }

  get trackSource(): ReceivedTrackSource {
    return this.source.source;
  }

  get layerCount(): number {
    return this.source.layerCount;
  }

  layerBitrate(layer: number): number | undefined {
    return this.source.layerBitrate(layer);
  }

  get nominalLayerBps(): readonly number[] | undefined {
    return this.source.nominalLayerBps;
  }

  get forwardedLayer(): number {
    return this.currentLayer;
  }

  forward(packet: IncomingPacket): void {
    if (this.closed || !this.engineTrack.isOpen()) return;
    const target = this.source.kind === 'audio' ? 0 : this.layers.target(packet.activeLayers);
    if (target < 0) return;
    if (packet.layer === this.currentLayer && target < this.currentLayer && this.layers.dropsAboveWanted) return;
    if (packet.layer !== this.currentLayer) {
      if (packet.layer !== target) return;
      if (this.source.kind === 'video' && !packet.isKeyframe()) return;
      this.switchTo(packet);
    }
    const { buffer, numbering } = packet;
    const outSequence = (packet.sequence + this.offsets.offsetFor(packet.sequence)) & 0xffff;
    const outTimestamp = (packet.timestamp + this.timestampOffset) >>> 0;
    rewriteHeader(buffer, this.ssrc, this.payloadType, outSequence, outTimestamp);
    const slot = outSequence & HISTORY_MASK;
    if (numbering) {
      const outPictureId = (numbering.pictureId + this.pictureIdOffset) & 0x7fff;
      const outTl0PicIdx = (numbering.tl0PicIdx + this.tl0PicIdxOffset) & 0xff;
      writePictureNumbering(buffer, numbering, outPictureId, outTl0PicIdx);
      this.historyPictureIds[slot] = outPictureId;
      this.historyTl0PicIdxs[slot] = outTl0PicIdx;
    }
    if (packet.transportSequenceOffset >= 0) this.transport?.stamp(buffer, packet.transportSequenceOffset, packet.receivedAt);
    sendPacket(this.engineTrack, buffer);
    this.history[slot] = buffer;
    this.historyResentAt[slot] = -Infinity;
    this.historyTimestamps[slot] = outTimestamp;
    this.historySequences[slot] = outSequence;
    if (((outSequence - this.lastSequence) & 0xffff) < 0x8000 || this.lastSequence < 0) {
      this.lastSequence = outSequence;
      this.lastUpstreamSequence = packet.sequence;
      this.lastTimestamp = outTimestamp;
      if (numbering) {
        this.lastPictureId = this.historyPictureIds[slot]!;
        this.lastTl0PicIdx = this.historyTl0PicIdxs[slot]!;
      }
    }
    this.lastSentAt = packet.receivedAt;
    this.packetsSent += 1;
    this.octetsSent += packet.payloadBytes;
    this.counters.packetsOut += 1;
    this.counters.bytesOut += buffer.length;
    if (outSequence !== this.lastSequence || !marker(buffer)) return;
    if (this.probeBytes > 0) this.sendPadding();
    else if (this.source.kind === 'video' && this.repairs.update(this.packetsSent, this.lastSentAt) > FRAME_END_MARK_SHARE) this.sendPaddingPacket(FRAME_END_PADDING_BYTES);
  }

  /** Starts forwarding the packet's layer from this (key)frame on, continuing the subscriber's numbering. */
  private switchTo({ sequence, timestamp, layer, numbering }: IncomingPacket): void {
    const first = this.lastSequence < 0;
    const nextSequence = first ? Math.floor(Math.random() * 0x8000) : (this.lastSequence + 1) & 0xffff;
    const elapsed = first ? 0 : Math.max(1, Math.round(((performance.now() - this.lastSentAt) / 1000) * this.source.clockRate));
    const nextTimestamp = first ? Math.floor(Math.random() * 0x7fffffff) : (this.lastTimestamp + elapsed) >>> 0;
    this.offsets.reset(nextSequence - sequence);
    this.timestampOffset = (nextTimestamp - timestamp) >>> 0;
    if (numbering && this.lastPictureId >= 0) {
      this.pictureIdOffset = (this.lastPictureId + 1 - numbering.pictureId) & 0x7fff;
      this.tl0PicIdxOffset = (this.lastTl0PicIdx + 1 - numbering.tl0PicIdx) & 0xff;
    }
    if (!first && layer !== this.currentLayer) this.counters.layerSwitches += 1;
    this.currentLayer = layer;
    if (first) {
      this.layers.started();
      this.source.delivered(this.subscriber);
    }
  }

  /** RTCP from the subscriber about this stream. */
  handleRtcp(packets: readonly RtcpPacket[]): void {
    for (const packet of packets) {
      switch (packet.type) {
        case 'nack':
          if (packet.mediaSsrc === this.ssrc) this.retransmit(packet.lost);
          break;
        case 'pli':
          if (packet.mediaSsrc === this.ssrc) this.requestKeyframe();
          break;
        case 'fir':
          if (packet.mediaSsrcs.includes(this.ssrc)) this.requestKeyframe();
          break;
        case 'rr':
        case 'sr':
          for (const block of packet.reports) if (block.ssrc === this.ssrc) this.onReceiverReport(block);
          break;
        case 'xr':
          // A receive-only browser learns its round trip only from this answer (RFC 3611 DLRR),
          // and asks again for a lost packet once per round trip: without it, every 100 ms.
          if (packet.rrtr && this.engineTrack.isOpen()) sendPacket(this.engineTrack, buildDlrr(this.ssrc, packet.ssrc, compactNtp(packet.rrtr.ntpSeconds, packet.rrtr.ntpFraction), 0));
          break;
      }
    }
  }

  /** Asks for the keyframe a pending layer switch (or a first picture) waits for. */
  poll(): void {
    // A keyframe that arrives before the stream opens (DTLS) is dropped: the track's onOpen asks then.
    if (this.closed || this.source.kind !== 'video' || !this.engineTrack.isOpen()) return;
    const target = this.layers.target(this.source.activeLayers());
    if (target >= 0 && target !== this.currentLayer) this.source.requestKeyframe(target);
  }

  requestKeyframe(): void {
    if (this.currentLayer >= 0) {
      this.counters.keyframeRequests += 1;
      this.source.requestKeyframe(this.currentLayer);
    }
  }

  setQuality(quality: VideoQuality): void {
    this.layers.setRequested(quality);
    this.poll();
  }

  /**
   * Answers a NACK within the connection's resend budget, and not twice within a round trip: a
   * receiver repeats its NACK until the packet arrives, and a resend already on its way will.
   */
  private retransmit(lost: readonly number[]): void {
    const now = performance.now();
    const guardMs = Math.max(MIN_RESEND_INTERVAL_MS, this.rttMs ?? DEFAULT_RTT_MS);
    for (const sequence of lost) {
      const slot = sequence & HISTORY_MASK;
      const packet = this.history[slot];
      if (!packet || this.historySequences[slot] !== sequence || now - this.historyResentAt[slot]! < guardMs) continue;
      if (this.historyResentAt[slot] === -Infinity) this.repairs.requested();
      if (this.transport && !this.transport.allowResend(packet.length)) break;
      if (this.resend(sequence)) {
        this.historyResentAt[slot] = now;
        this.counters.retransmissions += 1;
      }
    }
  }

  /**
   * Adds bytes of padding to send for a bandwidth probe. They go out after the current frame's
   * last packet (a receiver without RTX can only take padding between frames, as libwebrtc's own
   * sender does), as padding-only packets with sequence numbers of their own: the browser counts
   * them in its transport-wide feedback and discards them. (Resending recent packets instead would
   * not do: the browser's SRTP replay check drops a repeated sequence before feedback sees it.)
   */
  addProbeBytes(bytes: number): void {
    if (this.source.kind === 'video') this.probeBytes = Math.min(this.probeBytes + bytes, MAX_PROBE_BACKLOG_BYTES);
  }

  stopProbe(): void {
    this.probeBytes = 0;
  }

  private sendPadding(): void {
    for (let count = 0; this.probeBytes > 0 && count < MAX_PADDING_PACKETS_AT_ONCE; count++) {
      const packet = this.sendPaddingPacket();
      if (!packet) break;
      this.probeBytes -= packet.length;
      this.counters.probePackets += 1;
    }
  }

  /** One padding-only packet after the newest one sent, with the next sequence number; undefined if it could not go out. */
  private sendPaddingPacket(paddingBytes?: number): Buffer | undefined {
    const sequence = (this.lastSequence + 1) & 0xffff;
    const packet = paddingPacket(this.ssrc, this.payloadType, sequence, this.lastTimestamp, paddingBytes);
    this.transport?.stamp(packet, PADDING_TRANSPORT_OFFSET);
    if (!sendPacket(this.engineTrack, packet)) return undefined;
    this.offsets.shiftAfter(this.lastUpstreamSequence);
    const slot = sequence & HISTORY_MASK;
    this.history[slot] = packet;
    this.historyResentAt[slot] = -Infinity;
    this.historyTimestamps[slot] = this.lastTimestamp;
    this.historySequences[slot] = sequence;
    this.lastSequence = sequence;
    this.packetsSent += 1;
    return packet;
  }

  /** One packet from the history again, in this stream's numbering; false when it is gone or too old. */
  private resend(sequence: number): boolean {
    const slot = sequence & HISTORY_MASK;
    const packet = this.history[slot];
    if (!packet || this.historySequences[slot] !== sequence || ((this.lastSequence - sequence) & 0xffff) >= RETRANSMIT_WINDOW) return false;
    // The buffer may have been rewritten for another subscriber since: restore this stream's numbering.
    rewriteHeader(packet, this.ssrc, this.payloadType, sequence, this.historyTimestamps[slot]!);
    const offset = payloadOffset(packet);
    const numbering = offset >= 0 && offset < payloadEnd(packet) ? readPictureNumbering(this.source.codec, packet, offset) : undefined;
    if (numbering) writePictureNumbering(packet, numbering, this.historyPictureIds[slot]!, this.historyTl0PicIdxs[slot]!);
    this.transport?.stamp(packet);
    return sendPacket(this.engineTrack, packet);
  }

  /**
   * Loss is judged over at least a second of reports: Chromium sends a receiver report with each
   * NACK, covering only the few packets since the previous one, so a single report's fraction
   * overstates loss that retransmission repairs anyway.
   */
  private onReceiverReport(block: ReportBlock): void {
    const now = performance.now();
    const window = this.lossWindow;
    if (!window) this.lossWindow = { since: now, highestSequence: block.highestSequence, totalLost: block.totalLost };
    else if (now - window.since >= LOSS_WINDOW_MS) {
      const expected = block.highestSequence - window.highestSequence;
      const lost = block.totalLost - window.totalLost;
      this.fractionLost = expected > 0 ? Math.min(1, Math.max(0, lost / expected)) : 0;
      this.layers.onLoss(this.fractionLost);
      this.lossWindow = { since: now, highestSequence: block.highestSequence, totalLost: block.totalLost };
    }
    const sentAt = this.reportTimes.get(block.lastSenderReport);
    if (sentAt !== undefined) this.rttMs = Math.max(0, Date.now() - sentAt - (block.delaySinceLastSenderReport / 65536) * 1000);
  }

  /** A sender report in this subscriber's terms: the publisher's NTP/RTP pair, shifted like the media. */
  sendSenderReport(): void {
    if (this.closed || this.currentLayer < 0 || !this.engineTrack.isOpen()) return;
    const report = this.source.senderReport(this.currentLayer);
    const now = Date.now();
    const ntp = report ?? { ...ntpFromMillis(now), rtpTimestamp: (this.lastTimestamp - this.timestampOffset) >>> 0 };
    const packet = buildSenderReport({
      ssrc: this.ssrc,
      ntpSeconds: ntp.ntpSeconds,
      ntpFraction: ntp.ntpFraction,
      rtpTimestamp: (ntp.rtpTimestamp + this.timestampOffset) >>> 0,
      packetCount: this.packetsSent,
      octetCount: this.octetsSent,
    });
    this.reportTimes.set(compactNtp(ntp.ntpSeconds, ntp.ntpFraction), now);
    if (this.reportTimes.size > 16) this.reportTimes.delete(this.reportTimes.keys().next().value!);
    sendPacket(this.engineTrack, packet);
  }

  close(): void {
    this.closed = true;
    this.history.fill(undefined);
  }
}
