import type { Track } from 'node-datachannel';
import type { VideoCodecName } from '../rtp/keyframe.js';
import { buildSenderReport, compactNtp, ntpFromMillis, type ReportBlock, type RtcpPacket } from '../rtp/rtcp.js';
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

export interface ForwardingCounters {
  packetsOut: number;
  retransmissions: number;
  keyframeRequests: number;
}

/**
 * One published track as one subscriber receives it: its own SSRC, payload type, sequence
 * numbers and timestamps (continuous across simulcast layer switches, which happen only on a
 * keyframe), a history to answer NACKs, and sender reports for lip sync.
 */
export class Downstream {
  private currentLayer = -1;
  private sequenceOffset = 0;
  private timestampOffset = 0;
  private lastSequence = -1;
  private lastTimestamp = 0;
  private lastSentAt = 0;
  private packetsSent = 0;
  private octetsSent = 0;
  private readonly history: (Buffer | undefined)[] = new Array(HISTORY_SIZE);
  private readonly historyTimestamps = new Uint32Array(HISTORY_SIZE);
  /** The outgoing sequence number each history slot holds (a slot can be stale after upstream loss). */
  private readonly historySequences = new Int32Array(HISTORY_SIZE).fill(-1);
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

  /**
   * Forwards one packet of `layer`. The buffer is shared by every subscriber and rewritten in place
   * for each, so the publisher's sequence number and timestamp come as arguments, read before the
   * first rewrite, and the live layers once per packet for every subscriber. `isKeyframe` is
   * computed lazily, only while a switch waits for one.
   */
  forward(packet: Buffer, layer: number, sequence: number, rtpTimestamp: number, activeLayers: readonly number[], isKeyframe: () => boolean): void {
    if (this.closed || !this.engineTrack.isOpen()) return;
    const target = this.source.kind === 'audio' ? 0 : this.layers.target(activeLayers);
    if (target < 0) return;
    if (layer !== this.currentLayer) {
      if (layer !== target) return;
      if (this.source.kind === 'video' && !isKeyframe()) return;
      this.switchTo(sequence, rtpTimestamp, layer);
    }
    const outSequence = (sequence + this.sequenceOffset) & 0xffff;
    const outTimestamp = (rtpTimestamp + this.timestampOffset) >>> 0;
    rewriteHeader(packet, this.ssrc, this.payloadType, outSequence, outTimestamp);
    sendPacket(this.engineTrack, packet);
    this.history[outSequence & HISTORY_MASK] = packet;
    this.historyTimestamps[outSequence & HISTORY_MASK] = outTimestamp;
    this.historySequences[outSequence & HISTORY_MASK] = outSequence;
    if (((outSequence - this.lastSequence) & 0xffff) < 0x8000 || this.lastSequence < 0) {
      this.lastSequence = outSequence;
      this.lastTimestamp = outTimestamp;
    }
    this.lastSentAt = performance.now();
    this.packetsSent += 1;
    this.octetsSent += payloadEnd(packet) - Math.max(payloadOffset(packet), 0);
    this.counters.packetsOut += 1;
  }

  /** Starts forwarding `layer` from this (key)frame on, continuing the subscriber's numbering. */
  private switchTo(sequence: number, rtpTimestamp: number, layer: number): void {
    const first = this.lastSequence < 0;
    const nextSequence = first ? Math.floor(Math.random() * 0x8000) : (this.lastSequence + 1) & 0xffff;
    const elapsed = first ? 0 : Math.max(1, Math.round(((performance.now() - this.lastSentAt) / 1000) * this.source.clockRate));
    const nextTimestamp = first ? Math.floor(Math.random() * 0x7fffffff) : (this.lastTimestamp + elapsed) >>> 0;
    this.sequenceOffset = (nextSequence - sequence) & 0xffff;
    this.timestampOffset = (nextTimestamp - rtpTimestamp) >>> 0;
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
      // The buffer may have been rewritten for another subscriber since: restore this stream's header.
      rewriteHeader(packet, this.ssrc, this.payloadType, sequence, this.historyTimestamps[sequence & HISTORY_MASK]!);
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
