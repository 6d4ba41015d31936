// Why this file is ~490 lines: the upstream half of the RTP path, readable top to bottom (a packet
// in, RTCP in, feedback out to the publisher); its pure parts are in ../rtp/ and ../bwe/, and the
// downstream half is downstream.ts, the copy to server recordings recording-tap.ts.
import type { PeerConnection, Track } from 'node-datachannel';
import type { TrackSource } from '@parley/protocol';
import type { NegotiatedCodec } from '../codecs.js';
import { startsKeyframe, type VideoCodecName } from '../rtp/keyframe.js';
import { readPictureNumbering } from '../rtp/picture-numbering.js';
import { ReceptionStats, type SenderReportSeen } from '../rtp/reception-stats.js';
import { buildNack, buildPli, buildReceiverReport, buildRemb, parseRtcp, type ReportBlock } from '../rtp/rtcp.js';
import { headerExtension, isRtcp, marker, payloadEnd, payloadOffset, payloadType, sequenceDelta, sequenceNumber, ssrc, timestamp } from '../rtp/rtp.js';
import { extensionIdMap, renumberExtensions, SubscriberExtensionId, withExtension, type ExtensionIdMap } from '../rtp/header-extensions.js';
import { SequenceCompactor } from '../rtp/sequence-compactor.js';
import { transportSequence, TwccRecorder } from '../rtp/twcc.js';
import { withoutVp8TemporalLayer } from '../rtp/vp8-temporal.js';
import type { PublishOffer } from '../sdp.js';
import type { Downstream, DownstreamSource, IncomingPacket } from './downstream.js';
import { guarded, sendPacket } from './engine.js';
import { KeyframeRequests } from './keyframe-requests.js';
import { LAYER_IDLE_MS, liveLayers } from './live-layers.js';
import type { StallSource } from './loop-watch.js';
import type { PacketRecorder } from './recording-tap.js';
import type { Counters } from './room-router.js';
import { UplinkCollapse } from './uplink-collapse.js';
import { UpstreamLosses } from './upstream-losses.js';

/** At most one keyframe request per layer in this window: a burst of subscriber PLIs becomes one, and a request within the window is sent when it ends. */
const KEYFRAME_REQUEST_INTERVAL_MS = 300;
/**
 * What the SFU tells a simulcast publisher it may send: enough for every layer. With transport-cc
 * negotiated this is only a ceiling: the publisher's own congestion control (GCC, on the SFU's
 * transport-wide feedback) finds what its link carries below it.
 */
const PUBLISHER_BITRATE_BPS = 4_000_000;
/** The longest run of lost padding closed over in subscribers' numbering (as UpstreamLosses' MAX_GAP). */
const MAX_PADDING_GAP = 256;
/** Layer rates are remembered over this many reports (seconds). */
const RATE_MEMORY_REPORTS = 10;
/** The SFU's own SSRC in the RTCP it sends to publishers. */
const SFU_RTCP_SSRC = 1;
const AUDIO_LAYERS: readonly number[] = [0];

interface LayerState {
  ssrc: number;
  lastPacketAt: number;
  /** Keyframe requests to the publisher for this layer, paced (`keyframe-requests.ts`). */
  keyframeRequests: KeyframeRequests;
  /** For receiver reports to the publisher. */
  reception: ReceptionStats;
  /** Video only: packets the publisher never delivered, asked for again with NACKs. */
  losses: UpstreamLosses | undefined;
  /** The newest media packet so far ended its frame (marker bit); padding after it leaves this as is. */
  frameEnded: boolean;
  /** The RTP timestamp of the newest media packet. */
  frameTimestamp: number;
  /** Numbers for subscribers, continuous without the padding-only packets left out. */
  compactor: SequenceCompactor;
  /** Bytes forwarded since the last report, and the rate they made (for subscribers' allocation). */
  bytes: number;
  bps: number | undefined;
  bytesSince: number;
  /** bps at each of the last reports (one a second). */
  recentBps: number[];
}

export interface AudioLevelSink {
  (participant: string, level: number): void;
}

export interface PublishedTrackOptions {
  id: string;
  publisher: string;
  source: TrackSource;
  pc: PeerConnection;
  offer: PublishOffer;
  /** The worker's counters (metrics) this track adds to. */
  counters: Counters;
  /** Where audio levels go (active speakers). */
  audioLevel: AudioLevelSink;
  /** A subscriber got its first packet of this track (`trackDelivered`). */
  onDelivered: (track: PublishedTrack, subscriber: string) => void;
  /** The worker's event loop: packets of a stall's backlog stay out of transport-wide feedback (`loop-watch.ts`). */
  loop?: StallSource;
}

/**
 * A track one participant publishes, on its own PeerConnection (libdatachannel routes packets by
 * SSRC and rid-only simulcast announces none, so one m-line per connection is what works). It
 * sorts incoming packets into simulcast layers and fans them out to downstreams.
 */
export class PublishedTrack implements DownstreamSource {
  readonly kind: 'audio' | 'video';
  readonly codec: VideoCodecName | 'opus';
  readonly clockRate: number;
  readonly layerCount: number;
  readonly downstreams = new Set<Downstream>();
  private readonly layerBySsrc = new Map<number, number>();
  private readonly layerStates: (LayerState | undefined)[] = [];
  private engineTrack: Track | undefined;
  private readonly keyframeCodec: VideoCodecName | undefined;
  /** Arrival times by transport-wide sequence number (this connection is one transport). */
  private readonly transportArrivals: TwccRecorder | undefined;
  private readonly loop: StallSource | undefined;
  /** Whether the last packet was a stall's backlog (the feedback before it already went out). */
  private inBacklog = false;
  /** The publisher's header extension ids -> the ones subscribers were offered. */
  private readonly extensionIds: ExtensionIdMap;
  /** The layers live at the last `checkLayers`, one bit each. */
  private liveMask = 0;
  /** Simulcast video: whether the publisher's uplink is losing most of what it sends. */
  private readonly uplink: UplinkCollapse | undefined;
  /** A collapse began at the last check: its subscribers ask for the lowest layer's keyframe at the next one. */
  private collapseKeyframeDue = false;
  /** Asks the publisher again when its next lost packet falls due (`scheduleRetry`). */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;
  /** When the first RTP packet arrived (Date.now()), for the join timeline (`bench:join`). */
  firstPacketAt: number | undefined;
  /** Server recordings of this track (`recording-tap.ts`): each gets a copy of every packet and sender report. */
  private readonly recorders: PacketRecorder[] = [];

  readonly id: string;
  readonly publisher: string;
  readonly source: TrackSource;
  readonly pc: PeerConnection;
  private readonly offer: PublishOffer;
  private readonly counters: Counters;
  private readonly audioLevel: AudioLevelSink;
  private readonly onDelivered: (track: PublishedTrack, subscriber: string) => void;

  constructor(options: PublishedTrackOptions) {
    ({ id: this.id, publisher: this.publisher, source: this.source, pc: this.pc, offer: this.offer, counters: this.counters, audioLevel: this.audioLevel, onDelivered: this.onDelivered, loop: this.loop } = options);
    const offer = options.offer;
    this.kind = offer.kind;
    this.codec = offer.codec.name;
    this.clockRate = offer.codec.clockRate;
    this.layerCount = Math.max(1, offer.rids.length);
    this.keyframeCodec = offer.kind === 'video' ? (offer.codec.name as VideoCodecName) : undefined;
    this.transportArrivals = offer.transportCcExtensionId === undefined ? undefined : new TwccRecorder();
    this.uplink = offer.kind === 'video' && this.layerCount > 1 ? new UplinkCollapse() : undefined;
    this.extensionIds = extensionIdMap([
      [offer.transportCcExtensionId, SubscriberExtensionId.transportSequence],
      [offer.kind === 'audio' ? offer.audioLevelExtensionId : undefined, SubscriberExtensionId.audioLevel],
    ]);
  }

  /**
   * A layer's rate for subscribers' allocation: the larger of the last seconds' and its peak in
   * the last 10 s, since a layer that was paused or a keyframe-less stretch reads low for a while
   * and taking it for less than it will send overloads the subscriber's link.
   */
  layerBitrate(layer: number): number | undefined {
    const state = this.layerStates[layer];
    if (!state || state.bps === undefined || performance.now() - state.lastPacketAt >= LAYER_IDLE_MS) return undefined;
    return Math.max(state.bps, ...state.recentBps);
  }

  /** Starts copying this track's packets to `recorder`, from a keyframe of every layer. */
  addRecorder(recorder: PacketRecorder): void {
    this.recorders.push(recorder);
    this.layerStates.forEach((state, layer) => state && (recorder.layer === undefined || recorder.layer === layer) && this.requestKeyframe(layer));
  }

  removeRecorder(recorder: PacketRecorder): void {
    const index = this.recorders.indexOf(recorder);
    if (index >= 0) this.recorders.splice(index, 1);
  }

  get negotiatedCodec(): NegotiatedCodec {
    return this.offer.codec;
  }

  get rids(): readonly string[] {
    return this.offer.rids;
  }

  attach(track: Track): void {
    this.engineTrack = track;
    track.onMessage(guarded('publisher packet', (packet: Buffer) => this.onPacket(packet)));
  }

  activeLayers(): number[] {
    return liveLayers(this.layerStates.map((state) => state?.lastPacketAt), performance.now());
  }

  requestKeyframe(layer: number): void {
    const state = this.layerStates[layer];
    const track = this.engineTrack;
    if (!state || !track?.isOpen()) return;
    // Above a collapsed uplink's cap nothing is forwarded for long, and Chromium's VP8 simulcast
    // encodes a keyframe on every layer it sends for a request on any one: a subscriber's PLI for
    // the layer it still shows would put a 720p keyframe into the link the 180p one has to cross.
    if (layer > 0 && this.uplink?.collapsed) return;
    if (state.keyframeRequests.request(performance.now())) this.sendPli(track, state);
  }

  /** Every 50 ms: keyframe requests that were owed (made too soon after the previous one). */
  sendOwedKeyframeRequests(): void {
    const track = this.engineTrack;
    if (!track?.isOpen()) return;
    const now = performance.now();
    for (const state of this.layerStates) if (state?.keyframeRequests.due(now)) this.sendPli(track, state);
  }

  private sendPli(track: Track, state: LayerState): void {
    this.counters.keyframeRequests += 1;
    sendPacket(track, buildPli(SFU_RTCP_SSRC, state.ssrc));
  }

  /**
   * Asks the publisher again for packets still missing: when the next one falls due
   * (`scheduleRetry`), and every 50 ms with transport feedback (packets withheld at their gap).
   * Only layers somebody receives: resending the others would only load a link that is losing
   * packets.
   */
  askAgainForLosses(): void {
    this.layerStates.forEach((state, layer) => {
      // Not even looked at otherwise: `due` counts what it returns as asked for.
      if (!state?.losses || !this.isForwarded(layer)) return;
      const again = state.losses.due();
      if (again.length > 0) this.sendNack(state, again);
    });
    this.scheduleRetry();
  }

  /**
   * A timer for the next request due again (UpstreamLosses' retry: twice the resend time, 30 ms
   * at least). Left to the 50 ms tick, a resend lost again (7 % of them under 7 % loss) was asked
   * for 30-80 ms after the request before: traced, a packet asked for at 0, 79 and 130 ms came
   * back at 131 ms, and its frame (and the picture) waited that long: a 217 ms freeze.
   */
  private scheduleRetry(): void {
    let next = Infinity;
    for (const state of this.layerStates) {
      const at = state?.losses?.nextDueAt();
      if (at !== undefined && at < next) next = at;
    }
    if (next === Infinity || next >= this.retryAt) return;
    clearTimeout(this.retryTimer);
    this.retryAt = next;
    this.retryTimer = setTimeout(
      guarded('upstream retry', () => {
        this.retryTimer = undefined;
        this.retryAt = Infinity;
        if (this.engineTrack) this.askAgainForLosses();
      }),
      Math.max(0, next - performance.now()),
    );
  }

  /**
   * Runs every 50 ms: when a layer stops or resumes, its subscribers ask for the keyframe their
   * switch waits for now rather than at the next 200 ms poll (the picture is frozen meanwhile when
   * the layer forwarded stopped).
   */
  checkLayers(): void {
    if (this.kind !== 'video' || this.layerCount < 2) return;
    const live = this.activeLayers().reduce((mask, layer) => mask | (1 << layer), 0);
    if (live === this.liveMask) return;
    this.liveMask = live;
    for (const downstream of this.downstreams) downstream.poll();
  }

  /**
   * Runs every 50 ms: when the uplink collapses, the publisher is told to send less (REMB) and
   * subscribers are capped to the lowest layer; the cap goes when it recovers. The lowest layer's
   * keyframe is asked for one check (50 ms) after the REMB, once the publisher's encoder has
   * applied the lower rate (at its next frame) and turned the upper layers off: asked for with the
   * REMB, it came with a 720p and a 360p keyframe (Chromium encodes one on every layer it sends),
   * ~10x its size, into the link that had just fallen.
   */
  checkUplink(): void {
    if (!this.uplink) return;
    if (this.collapseKeyframeDue) {
      this.collapseKeyframeDue = false;
      for (const downstream of this.downstreams) downstream.poll();
    }
    const before = this.uplink.collapsed;
    const collapsed = this.uplink.update();
    if (collapsed === before) return;
    this.sendRemb();
    if (collapsed) this.counters.uplinkCollapses += 1;
    for (const downstream of this.downstreams) downstream.layers.setUpstreamCap(collapsed ? 0 : undefined, !this.uplink.seenBeforeLoss);
    if (collapsed) this.collapseKeyframeDue = true;
    else for (const downstream of this.downstreams) downstream.poll();
  }

  /**
   * Whether a layer's lost packets are worth asking the publisher for: some subscriber receives
   * it, and its uplink is not collapsed above the lowest layer, nor losing most of what it sends
   * (resends there would only sit in the publisher's pacer in front of the lowest layer's
   * keyframe, and libwebrtc sends resends first: the switch to it came 1.1-1.2 s after the
   * collapse instead of 1.65 s when the SFU stopped asking once collapsed).
   */
  private isForwarded(layer: number): boolean {
    if (layer > 0 && (this.uplink?.collapsed || this.uplink?.losingMost)) return false;
    for (const downstream of this.downstreams) if (downstream.forwardedLayer === layer) return true;
    return false;
  }

  private sendNack(state: LayerState, lost: readonly number[]): void {
    const track = this.engineTrack;
    if (!track?.isOpen()) return;
    this.counters.nacksToPublishers += lost.length;
    sendPacket(track, buildNack(SFU_RTCP_SSRC, state.ssrc, lost));
  }

  delivered(subscriber: string): void {
    this.onDelivered(this, subscriber);
  }

  senderReport(layer: number): SenderReportSeen | undefined {
    return this.layerStates[layer]?.reception.senderReport;
  }

  /**
   * Transport-wide feedback: when each packet since the last feedback arrived, or that it did not.
   * The publisher's congestion control reads delay growth and loss from it, as in a direct call.
   */
  sendTransportFeedback(): void {
    const track = this.engineTrack;
    if (!this.transportArrivals || !track?.isOpen()) return;
    // Feedback names a media SSRC of the transport; any of its streams will do.
    const mediaSsrc = this.layerStates.find((state) => state !== undefined)?.ssrc ?? 0;
    for (const feedback of this.transportArrivals.takeFeedback(SFU_RTCP_SSRC, mediaSsrc)) {
      this.counters.transportFeedbacks += 1;
      sendPacket(track, feedback);
    }
  }

  /** Periodic RTCP toward the publisher: receiver reports, and REMB so Chromium sends every layer. */
  sendReports(): void {
    const track = this.engineTrack;
    if (!track?.isOpen()) return;
    const blocks: ReportBlock[] = [];
    const now = performance.now();
    for (const state of this.layerStates) {
      if (!state) continue;
      blocks.push(state.reception.report());
      const measured = (state.bytes * 8000) / Math.max(1, now - state.bytesSince);
      // Smoothed: a keyframe second would otherwise read as a layer twice its usual rate.
      state.bps = state.bps === undefined ? measured : 0.5 * state.bps + 0.5 * measured;
      state.recentBps.push(state.bps);
      if (state.recentBps.length > RATE_MEMORY_REPORTS) state.recentBps.shift();
      state.bytes = 0;
      state.bytesSince = now;
    }
    if (blocks.length > 0) sendPacket(track, buildReceiverReport(SFU_RTCP_SSRC, blocks));
    this.sendRemb();
  }

  /**
   * REMB: a ceiling on what the publisher sends, high enough for every layer (with transport-cc
   * its own congestion control finds what its link carries below it), except when its uplink
   * collapses: then below what the link carried, rising again after (`UplinkCollapse.rateCap`).
   * Sent once a collapse is seen (~100-150 ms after the link falls), it turns the encoder's upper
   * layers off before the queue overflows; sent once loss shows it (~500 ms after), it does not
   * help: the pacer already holds what was queued, and the recovery after the step is slower.
   */
  private sendRemb(): void {
    const track = this.engineTrack;
    if (this.kind !== 'video' || !track?.isOpen()) return;
    const ssrcs = this.layerStates.filter((s): s is LayerState => s !== undefined).map((s) => s.ssrc);
    const bitrate = this.uplink ? this.uplink.rateCap(PUBLISHER_BITRATE_BPS) : PUBLISHER_BITRATE_BPS;
    if (ssrcs.length > 0) sendPacket(track, buildRemb(SFU_RTCP_SSRC, bitrate, ssrcs));
  }

  /**
   * Layers somebody wants or still receives (dynacast): the publisher may pause the rest. A layer
   * being forwarded stays on until its subscriber has switched, or the picture would freeze, and
   * so do the layers below it: when that subscriber's downlink estimate falls it steps down one
   * layer at once, not to the lowest for the 1-2 s a resume takes (seen under 7 % loss). A layer
   * only wanted, above the one forwarded, is not a reason to keep the ones between on: a
   * publisher whose own uplink cannot carry the wanted layer then spends it all on what it sends
   * (with them on, a 400 kbit/s publisher kept switching its middle layer on and off: 2.97 frozen
   * s/min against 0-1.6 without).
   */
  wantedLayers(): Set<number> {
    const wanted = new Set<number>();
    // A recording keeps every layer on: the export keeps the best one that covers the call, and
    // which layers a publisher sends depends on its camera (two of three at 640x360 in Chromium).
    // The mixer's feed keeps its one layer on.
    for (const recorder of this.recorders) {
      if (recorder.layer !== undefined) wanted.add(Math.min(recorder.layer, this.layerCount - 1));
      else for (let layer = 0; layer < this.layerCount; layer++) wanted.add(layer);
    }
    for (const downstream of this.downstreams) {
      wanted.add(downstream.layers.wanted);
      for (let layer = 0; layer <= downstream.forwardedLayer; layer++) wanted.add(layer);
    }
    return wanted;
  }

  close(): void {
    clearTimeout(this.retryTimer);
    for (const downstream of this.downstreams) downstream.close();
    this.downstreams.clear();
    this.engineTrack = undefined;
    try {
      this.pc.close();
    } catch {
      // already closed by the engine
    }
  }

  private onPacket(packet: Buffer): void {
    if (packet.length < 12) return;
    if (isRtcp(packet)) return this.onRtcp(packet);
    this.firstPacketAt ??= Date.now();
    const now = performance.now();
    // Every packet counts for congestion control, probes and resends included.
    if (this.transportArrivals) {
      const transport = transportSequence(packet, this.offer.transportCcExtensionId!);
      if (transport !== undefined) this.recordArrival(transport, now);
    }
    this.uplink?.onBytes(packet.length, now);
    if (payloadType(packet) !== this.offer.codec.payloadType) return; // RTX (padding on it too): not forwarded
    this.counters.packetsIn += 1;
    this.counters.bytesIn += packet.length;
    const layer = this.layerOf(packet);
    if (layer < 0) return;
    const state = this.layerStates[layer]!;
    const sequence = sequenceNumber(packet);
    const rtpTimestamp = timestamp(packet);
    const advance = sequenceDelta(state.reception.highestSequence, sequence);
    const newest = advance > 0;
    const offset = payloadOffset(packet);
    const paddingOnly = offset >= payloadEnd(packet);
    // Recorded as received, before anything below rewrites the packet in place.
    for (const recorder of this.recorders) {
      if (recorder.layer !== undefined && recorder.layer !== layer) continue;
      if (paddingOnly) recorder.padding(layer, packet);
      else recorder.rtp(layer, packet);
    }
    // libwebrtc pads on the media SSRC only once a frame is complete, stamped with that frame's
    // timestamp: a gap after a frame's end, closed by a packet with that frame's timestamp, is
    // padding lost on the way. The publisher keeps no padding to resend, so it is not asked for,
    // and subscribers' numbering closes over it (a hole would read as loss, and for H.264 as a
    // broken chain of frames). A jump past MAX_PADDING_GAP is a restarted stream, not loss.
    const paddingGap = this.kind === 'video' && newest && advance <= MAX_PADDING_GAP && state.frameEnded && rtpTimestamp === state.frameTimestamp;
    if (paddingGap) for (let step = 1; step < advance; step++) state.compactor.drop((state.reception.highestSequence + step) & 0xffff);
    // Whether a gap here is asked for at once (looked up only when there is one).
    const forwarded = advance > 1 && state.losses !== undefined && this.isForwarded(layer);
    const gap = state.losses?.onPacket(sequence, state.reception.highestSequence, now, paddingGap, forwarded);
    if (newest) this.uplink?.onAdvance(advance, now);
    if (newest && !paddingOnly) {
      state.frameEnded = marker(packet);
      state.frameTimestamp = rtpTimestamp;
    }
    state.reception.onPacket(sequence);
    if (gap && gap.length > 0) {
      this.sendNack(state, gap);
      this.scheduleRetry();
    }
    // Padding-only (the publisher's congestion control probing): counted as received above, kept
    // from subscribers, whose links it would only load.
    if (paddingOnly && state.compactor.drop(sequence)) {
      this.counters.paddingDropped += 1;
      return;
    }
    // A layer counts as live by its media: one that only pads is paused (dynacast) or starved.
    state.lastPacketAt = now;
    if (newest) this.uplink?.onMedia(layer, rtpTimestamp, this.clockRate, now);
    const forwardedSequence = state.compactor.map(sequence);
    if (forwardedSequence === undefined) return;
    if (this.kind === 'audio' && this.offer.audioLevelExtensionId !== undefined) {
      const level = headerExtension(packet, this.offer.audioLevelExtensionId);
      if (level && level.length > 0) this.audioLevel(this.publisher, level[0]! & 0x7f);
    }
    state.bytes += packet.length;
    // Subscribers see no VP8 temporal layers: a late repair would otherwise cost every frame of
    // the layers above the base until the next base frame (`vp8-temporal.ts`). The RTP header moves
    // up a byte, so the payload's offset stays `offset`.
    const media = this.codec === 'vp8' ? withoutVp8TemporalLayer(packet, offset) : packet;
    // Subscribers' numbering of the header extensions, with room for their transport-wide sequence.
    renumberExtensions(media, this.extensionIds);
    const buffer = this.offer.transportCcExtensionId === undefined ? withExtension(media, SubscriberExtensionId.transportSequence, 2) : media;
    const transportField = headerExtension(buffer, SubscriberExtensionId.transportSequence);
    const mediaOffset = buffer === media ? offset : payloadOffset(buffer);
    let keyframe: boolean | undefined;
    const activeLayers = this.kind === 'video' ? this.activeLayers() : AUDIO_LAYERS;
    const incoming: IncomingPacket = {
      buffer,
      layer,
      sequence: forwardedSequence,
      timestamp: rtpTimestamp,
      numbering: readPictureNumbering(this.codec, buffer, mediaOffset),
      activeLayers,
      isKeyframe: () => (keyframe ??= this.keyframeCodec !== undefined && mediaOffset > 0 && startsKeyframe(this.keyframeCodec, buffer.subarray(mediaOffset))),
      transportSequenceOffset: transportField?.length === 2 ? transportField.byteOffset - buffer.byteOffset : -1,
      receivedAt: now,
      payloadBytes: payloadEnd(buffer) - Math.max(mediaOffset, 0),
    };
    if (state.keyframeRequests.waiting && incoming.isKeyframe()) state.keyframeRequests.keyframeArrived();
    for (const downstream of this.downstreams) downstream.forward(incoming);
  }

  /**
   * Its arrival for transport-wide feedback, unless the packet may be a stall's backlog (handled
   * late, so its time says nothing of the uplink): then what came before is reported now and the
   * backlog is left out (`loop-watch.ts`).
   */
  private recordArrival(transportSequence: number, now: number): void {
    const arrivals = this.transportArrivals!;
    if (this.loop?.inStall(now)) {
      if (!this.inBacklog) this.sendTransportFeedback();
      this.inBacklog = true;
      arrivals.leaveOut(transportSequence);
      return;
    }
    this.inBacklog = false;
    arrivals.onPacket(transportSequence, Math.round(now * 1000));
  }

  /** Simulcast layers by rid (header extension), cached per SSRC; a single stream is layer 0. */
  private layerOf(packet: Buffer): number {
    const packetSsrc = ssrc(packet);
    let layer = this.layerBySsrc.get(packetSsrc);
    if (layer === undefined) {
      if (this.offer.rids.length === 0) layer = 0;
      else {
        const rid = this.offer.ridExtensionId === undefined ? undefined : headerExtension(packet, this.offer.ridExtensionId);
        if (!rid) return -1;
        layer = this.offer.rids.indexOf(rid.toString('latin1'));
        if (layer < 0) return -1;
      }
      this.layerBySsrc.set(packetSsrc, layer);
      this.layerStates[layer] = newLayerState(packetSsrc, sequenceNumber(packet), this.kind === 'video');
    }
    return layer;
  }

  private onRtcp(packet: Buffer): void {
    for (const report of parseRtcp(packet)) {
      if (report.type !== 'sr') continue;
      const layer = this.layerBySsrc.get(report.ssrc);
      const state = layer === undefined ? undefined : this.layerStates[layer];
      if (!state) continue;
      state.reception.senderReport = { ntpSeconds: report.ntpSeconds, ntpFraction: report.ntpFraction, rtpTimestamp: report.rtpTimestamp, receivedAt: Date.now() };
      for (const recorder of this.recorders) if (recorder.layer === undefined || recorder.layer === layer) recorder.senderReport(layer!, report);
    }
  }
}

function newLayerState(layerSsrc: number, firstSequence: number, repairLosses: boolean): LayerState {
  return {
    ssrc: layerSsrc,
    lastPacketAt: performance.now(),
    keyframeRequests: new KeyframeRequests(KEYFRAME_REQUEST_INTERVAL_MS),
    reception: new ReceptionStats(layerSsrc, firstSequence),
    losses: repairLosses ? new UpstreamLosses() : undefined,
    frameEnded: false,
    frameTimestamp: 0,
    compactor: new SequenceCompactor(),
    bytes: 0,
    bps: undefined,
    bytesSince: performance.now(),
    recentBps: [],
  };
}
