import type { Track } from 'node-datachannel';
import type { VideoCodecName } from '../rtp/keyframe.js';
import { buildSenderReport, compactNtp, ntpFromMillis, type ReportBlock, type RtcpPacket } from '../rtp/rtcp.js';
import { readPictureNumbering, writePictureNumbering, type PictureNumbering } from '../rtp/picture-numbering.js';
import { payloadEnd, payloadOffset, rewriteHeader } from '../rtp/rtp.js';
import type { VideoQuality } from '../worker-protocol.js';
import { sendPacket } from './engine.js';
import { LayerController } from './layer-controller.js';

const HISTORY_SIZE = 1024;
const HISTORY_MASK = HISTORY_SIZE - 1;
const LOSS_WINDOW_MS = 1000;
/** libsrtp refuses to protect a packet older than its replay window (128): no point resending those. */
const RETRANSMIT_WINDOW = 120;

/** What a downstream needs from the track it forwards. */
export interface DownstreamSource {
  readonly kind: 'audio' | 'video';
  readonly codec: VideoCodecName | 'opus';
  readonly clockRate: number;
  readonly layerCount: number;
  /** Layers that carried packets in the last second, lowest first. */
  activeLayers(): number[];
  requestKeyframe(layer: number): void;
  /** The first packet went out to this subscriber: it now receives the track through the SFU. */
  delivered(subscriber: string): void;
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
}

export interface ForwardingCounters {
  packetsOut: number;
  retransmissions: number;
  keyframeRequests: number;
}

/**
 * One published track as one subscriber receives it: its own SSRC, payload type, sequence
 * numbers, timestamps and VP8/VP9 picture numbers (continuous across simulcast layer switches,
 * which happen only on a keyframe), a history to answer NACKs, and sender reports for lip sync.
 */
export class Downstream {
  private currentLayer = -1;
  private sequenceOffset = 0;
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
  /** Compact NTP of each sender report sent -> when, for RTT from receiver reports. */
  private readonly reportTimes = new Map<number, number>();
  readonly layers: LayerController;
  private lossWindow: { since: number; highestSequence: number; totalLost: number } | undefined;
  rttMs: number | undefined;
  fractionLost = 0;
  closed = false;

  constructor(
    readonly subscriber: string,
    readonly ssrc: number,
    readonly payloadType: number,
    readonly engineTrack: Track,
    private readonly source: DownstreamSource,
    private readonly counters: ForwardingCounters,
  ) {
    this.layers = new LayerController(source.layerCount);
  }

  get forwardedLayer(): number {
    return this.currentLayer;
  }

  forward(packet: IncomingPacket): void {
    if (this.closed || !this.engineTrack.isOpen()) return;
    const target = this.source.kind === 'audio' ? 0 : this.layers.target(packet.activeLayers);
    if (target < 0) return;
    if (packet.layer !== this.currentLayer) {
      if (packet.layer !== target) return;
      if (this.source.kind === 'video' && !packet.isKeyframe()) return;
      this.switchTo(packet);
    }
    const { buffer, numbering } = packet;
    const outSequence = (packet.sequence + this.sequenceOffset) & 0xffff;
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
    sendPacket(this.engineTrack, buffer);
    this.history[slot] = buffer;
    this.historyTimestamps[slot] = outTimestamp;
    this.historySequences[slot] = outSequence;
    if (((outSequence - this.lastSequence) & 0xffff) < 0x8000 || this.lastSequence < 0) {
      this.lastSequence = outSequence;
      this.lastTimestamp = outTimestamp;
      if (numbering) {
        this.lastPictureId = this.historyPictureIds[slot]!;
        this.lastTl0PicIdx = this.historyTl0PicIdxs[slot]!;
      }
    }
    this.lastSentAt = performance.now();
    this.packetsSent += 1;
    this.octetsSent += payloadEnd(buffer) - Math.max(payloadOffset(buffer), 0);
    this.counters.packetsOut += 1;
  }

  /** Starts forwarding the packet's layer from this (key)frame on, continuing the subscriber's numbering. */
  private switchTo({ sequence, timestamp, layer, numbering }: IncomingPacket): void {
    const first = this.lastSequence < 0;
    const nextSequence = first ? Math.floor(Math.random() * 0x8000) : (this.lastSequence + 1) & 0xffff;
    const elapsed = first ? 0 : Math.max(1, Math.round(((performance.now() - this.lastSentAt) / 1000) * this.source.clockRate));
    const nextTimestamp = first ? Math.floor(Math.random() * 0x7fffffff) : (this.lastTimestamp + elapsed) >>> 0;
    this.sequenceOffset = (nextSequence - sequence) & 0xffff;
    this.timestampOffset = (nextTimestamp - timestamp) >>> 0;
    if (numbering && this.lastPictureId >= 0) {
      this.pictureIdOffset = (this.lastPictureId + 1 - numbering.pictureId) & 0x7fff;
      this.tl0PicIdxOffset = (this.lastTl0PicIdx + 1 - numbering.tl0PicIdx) & 0xff;
    }
    this.currentLayer = layer;
    if (first) this.source.delivered(this.subscriber);
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
      }
    }
  }

  /** Asks for the keyframe a pending layer switch (or a first picture) waits for. */
  poll(): void {
    if (this.closed || this.source.kind !== 'video') return;
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

  private retransmit(lost: readonly number[]): void {
    for (const sequence of lost) {
      const packet = this.history[sequence & HISTORY_MASK];
      if (!packet || this.historySequences[sequence & HISTORY_MASK] !== sequence || ((this.lastSequence - sequence) & 0xffff) >= RETRANSMIT_WINDOW) continue;
      // The buffer may have been rewritten for another subscriber since: restore this stream's numbering.
      const slot = sequence & HISTORY_MASK;
      rewriteHeader(packet, this.ssrc, this.payloadType, sequence, this.historyTimestamps[slot]!);
      const numbering = readPictureNumbering(this.source.codec, packet, payloadOffset(packet));
      if (numbering) writePictureNumbering(packet, numbering, this.historyPictureIds[slot]!, this.historyTl0PicIdxs[slot]!);
      if (sendPacket(this.engineTrack, packet)) this.counters.retransmissions += 1;
    }
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
