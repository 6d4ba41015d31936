import { MIXER_DECODES, publisherCodecs, type VideoCodecName } from '../codecs.js';
import { readPublishOffer, shapePublishAnswer } from '../sdp.js';
import type { RoomMediaConfig, RouterRequest, WorkerEvent } from '../worker-protocol.js';
import { ActiveSpeakerDetector } from './active-speakers.js';
import type { TrackDescription } from '../../recording/tracks/record-format.js';
import type { ForwardingCounters } from './downstream.js';
import type { Track } from 'node-datachannel';
import { gatheringComplete, guarded, type MediaEngine } from './engine.js';
import type { StallSource } from './loop-watch.js';
import { PublishedTrack } from './published-track.js';
import { RecordingTap, type PacketRecorder } from './recording-tap.js';
import { MixedTrack } from './mixed-track.js';
import { MixerLink } from './mixer-link.js';
import { timestamp } from '../rtp/rtp.js';
import { SubscriberConnection, type AnswerOutcome } from './subscriber-connection.js';

interface Member {
  /** Display name, when signaling gave one. */
  readonly name: string | undefined;
  readonly canSubscribe: boolean;
  readonly decodes: Set<VideoCodecName>;
  subscriber: SubscriberConnection;
  /** MCU rooms and `mixed` receivers: what this participant hears instead of the others' audio tracks. */
  readonly mix: MixedTrack | undefined;
  /** And what it sees instead of their video tracks (when the mixer makes video). */
  readonly mixVideo: MixedTrack | undefined;
}

export type Counters = ForwardingCounters & {
  packetsIn: number;
  bytesIn: number;
  nacksToPublishers: number;
  transportFeedbacks: number;
  paddingDropped: number;
  uplinkCollapses: number;
  /** MCU: mixed packets holding someone's voice the mixer sent back, and the milliseconds each took from its newest input's arrival here. */
  mixedPackets: number;
  mixLatencyMsTotal: number;
};

export interface RoomRouterOptions {
  /** The room's name. */
  name: string;
  config: RoomMediaConfig;
  engine: MediaEngine;
  /** The worker's counters, shared by every room it routes. */
  counters: Counters;
  /** Sends an event to the main process. */
  emit: (event: WorkerEvent) => void;
  /** The worker's event loop (`loop-watch.ts`): whether a packet handled now may be a stall's backlog. */
  loop?: StallSource;
}

/**
 * The simulcast layer the mixer decodes: the middle one (320x180 of a 640x360 camera, 640x360 of
 * a 720p one), as large as a tile of the 640x360 grid needs, or the only one; while that one
 * sends nothing, the best live one below it, else the lowest live one. Chromium sends one layer
 * of a 320x180 camera (its lowest) and a collapsed uplink only the lowest: with the middle layer
 * fixed, such a publisher's tile stayed empty.
 */
function mixerLayer(track: PublishedTrack): number {
  const preferred = Math.min(1, track.layerCount - 1);
  const live = track.activeLayers();
  if (live.length === 0 || live.includes(preferred)) return preferred;
  const below = live.filter((layer) => layer < preferred);
  return below.length > 0 ? below[below.length - 1]! : live[0]!;
}

/** A simulcast layer nobody has wanted for this long is paused at the publisher (reports run each second). */
const DYNACAST_PAUSE_AFTER_MS = 2_000;

/** One room's media on this worker: who publishes what, and who receives it. */
export class RoomRouter {
  private readonly members = new Map<string, Member>();
  readonly tracks = new Map<string, PublishedTrack>();
  private readonly speakers = new ActiveSpeakerDetector();
  private readonly wantedRids = new Map<string, string>();
  /** The active speaker, whose video subscribers' downlinks favour after screen shares. */
  private loudest: string | undefined;
  /** Per simulcast track, when each layer was last wanted (dynacast hysteresis). */
  private readonly layerWantedAt = new Map<string, number[]>();
  /** Server recordings of this room, by recording id: the connection and each track's recorder. */
  private readonly recordings = new Map<string, { tap: RecordingTap; recorders: Map<PublishedTrack, PacketRecorder> }>();
  /** MCU rooms: the connection to the room's mixer process, and each audio track's feed into it. */
  private mixer: { link: MixerLink; inputs: Map<PublishedTrack, PacketRecorder> } | undefined;

  readonly name: string;
  private readonly config: RoomMediaConfig;
  private readonly engine: MediaEngine;
  private readonly counters: Counters;
  private readonly emit: (event: WorkerEvent) => void;
  private readonly loop: StallSource | undefined;

  constructor({ name, config, engine, counters, emit, loop }: RoomRouterOptions) {
    this.loop = loop;
    this.name = name;
    this.config = config;
    this.engine = engine;
    this.counters = counters;
    this.emit = emit;
  }

  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  get downstreamCount(): number {
    let count = 0;
    for (const track of this.tracks.values()) count += track.downstreams.size;
    return count;
  }

  join({ participant, name, canSubscribe, decodes, mixed }: RouterRequest<'join'>): void {
    this.leave(participant);
    const mixes = (this.config.mixAudio || mixed) && canSubscribe;
    const mix = mixes ? new MixedTrack({ listener: participant, kind: 'audio' }) : undefined;
    const mixVideo = mixes && this.config.mixVideo ? new MixedTrack({ listener: participant, kind: 'video', onKeyframeRequest: (tier) => this.mixer?.link.keyframe(participant, tier), ...(this.config.mixVideoTierKbps ? { tierKbps: this.config.mixVideoTierKbps } : {}) }) : undefined;
    const member: Member = { name, canSubscribe, decodes: new Set(decodes), subscriber: this.subscriberFor(participant), mix, mixVideo };
    this.members.set(participant, member);
    this.subscribeToAll(participant, member);
    if (mix) this.mixer?.link.listener(participant, true, mixVideo?.wantedTier());
  }

  /** Whether `member` receives `track` itself (a member with a mix, as everyone in an MCU room, hears audio, and sees video when the mixer makes it, through it only). */
  private receives(member: Member, track: PublishedTrack): boolean {
    return member.canSubscribe && !(member.mix && track.kind === 'audio') && !(member.mixVideo && track.kind === 'video');
  }

  /** A fresh receiving connection with every track (the old one failed on the participant's side). */
  resubscribe(participant: string): void {
    const member = this.members.get(participant);
    if (!member) throw new Error(`${participant} has not joined the room's media`);
    member.subscriber.close();
    member.subscriber = this.subscriberFor(participant, member.subscriber.offerId);
    this.subscribeToAll(participant, member);
  }

  private subscriberFor(participant: string, lastOfferId = 0): SubscriberConnection {
    return new SubscriberConnection({
      participant,
      lastOfferId,
      engine: this.engine,
      counters: this.counters,
      sendOffer: (sdp, tracks, offerId) => this.emit({ event: 'offer', room: this.name, participant, sdp, tracks, offerId }),
      onError: (message) => this.emit({ event: 'log', level: 'warn', message, fields: { room: this.name } }),
      priorityOf: (track) => (!track ? 0 : track.source === 'screen' ? 2 : track.publisher === this.loudest ? 1 : 0),
    });
  }

  private subscribeToAll(participant: string, member: Member): void {
    if (member.mix) member.subscriber.add(member.mix);
    if (member.mixVideo) member.subscriber.add(member.mixVideo);
    for (const track of this.tracks.values()) if (track.publisher !== participant && this.receives(member, track)) member.subscriber.add(track);
  }

  leave(participant: string): void {
    const member = this.members.get(participant);
    if (!member) return;
    for (const track of [...this.tracks.values()]) if (track.publisher === participant) this.unpublish({ participant, trackId: track.id });
    member.subscriber.close();
    this.members.delete(participant);
    this.speakers.forget(participant);
    if (member.mix) this.mixer?.link.listener(participant, false);
  }

  async publish({ participant, trackId, source, sdp }: RouterRequest<'publish'>): Promise<{ sdp: string; codec: string }> {
    if (!this.members.has(participant)) throw new Error(`${participant} has not joined the room's media`);
    if (this.tracks.has(trackId)) throw new Error(`track ${trackId} exists`);
    const offer = readPublishOffer(sdp, this.decodableVideoCodecs(participant));
    const pc = this.engine.createPeerConnection(`pub-${participant}-${source}`);
    const track = new PublishedTrack({
      id: trackId,
      publisher: participant,
      source,
      pc,
      offer,
      counters: this.counters,
      ...(this.loop ? { loop: this.loop } : {}),
      audioLevel: (who, level) => this.speakers.onLevel(who, level),
      // Stamped here, as the keyframe goes out: the main process's clock would add the IPC's delay.
      onDelivered: (published, subscriber) => this.emit({ event: 'delivered', room: this.name, participant: published.publisher, trackId: published.id, subscriber, at: Date.now() }),
    });
    pc.onTrack(guarded('publisher track', (engineTrack: Track) => track.attach(engineTrack)));
    try {
      // No await between reserve() and the gathering setLocalDescription (engine.ts).
      await this.engine.reserve(pc);
      pc.setRemoteDescription(sdp, 'offer');
      pc.setLocalDescription();
      await gatheringComplete(pc);
      const local = pc.localDescription();
      if (!local) throw new Error('the engine produced no answer');
      this.tracks.set(trackId, track);
      for (const recording of this.recordings.values()) this.startRecordingTrack(recording, track);
      if (this.mixer && this.mixerTakes(track)) this.feedMixer(this.mixer, track);
      for (const [identity, member] of this.members) if (identity !== participant && this.receives(member, track)) member.subscriber.add(track);
      // A publisher is in the call: its receiving connection is made now, not when the first
      // track for it comes (a newcomer, the pair of an `auto` room moving here), which then
      // waits for a renegotiation only, not for ICE and DTLS too. Not at join: a participant who
      // never publishes (a viewer, a signaling benchmark's client) costs no connection until
      // there is something for it.
      const publisher = this.members.get(participant);
      if (publisher?.canSubscribe) publisher.subscriber.open();
      return { sdp: shapePublishAnswer(local.sdp, offer, this.engine.options.announcedAddress), codec: offer.codec.name };
    } catch (error) {
      track.close();
      throw error;
    }
  }

  unpublish({ participant, trackId }: RouterRequest<'unpublish'>): void {
    const track = this.tracks.get(trackId);
    if (!track || track.publisher !== participant) throw new Error(`${participant} publishes no track ${trackId}`);
    for (const member of this.members.values()) member.subscriber.remove(trackId);
    for (const recording of this.recordings.values()) recording.recorders.delete(track);
    if (this.mixer?.inputs.delete(track)) this.mixer.link.inputEnded(track.id);
    track.close();
    this.tracks.delete(trackId);
    this.wantedRids.delete(trackId);
    this.layerWantedAt.delete(trackId);
  }

  answer({ participant, sdp, offerId }: RouterRequest<'answer'>): AnswerOutcome {
    const member = this.members.get(participant);
    if (!member) throw new Error(`${participant} has not joined the room's media`);
    return member.subscriber.applyAnswer(sdp, offerId);
  }

  resendOffer(participant: string): void {
    this.members.get(participant)?.subscriber.resendOffer();
  }

  /** Internal (tests, benchmarks): the participant's downlink estimate held at most `bps`. */
  capDownlink({ participant, bps }: RouterRequest<'capDownlink'>): void {
    const member = this.members.get(participant);
    if (!member) throw new Error(`${participant} is not in room ${this.name}`);
    member.subscriber.capDownlink(bps ?? undefined);
  }

  setQuality({ participant, trackId, quality }: RouterRequest<'setQuality'>): void {
    const downstream = this.members.get(participant)?.subscriber.downstreams.find((d) => this.tracks.get(trackId)?.downstreams.has(d));
    if (!downstream) throw new Error(`${participant} does not receive track ${trackId}`);
    downstream.setQuality(quality);
  }

  /** Runs often (200 ms): subscribers' layers from their downlink estimates, keyframes a pending layer switch waits for, the mixer's layers. */
  poll(): void {
    if (this.mixer) {
      for (const [track, input] of this.mixer.inputs) {
        if (track.kind !== 'video') continue;
        const layer = mixerLayer(track);
        if (layer === input.layer) continue;
        // The mixer starts the new layer at its keyframe (it tells layers apart by the frames' layer field).
        input.layer = layer;
        track.requestKeyframe(layer);
      }
    }
    for (const member of this.members.values()) member.subscriber.poll();
    for (const track of this.tracks.values()) for (const downstream of track.downstreams) downstream.poll();
  }

  /** Every 50 ms: transport-wide feedback to publishers (their congestion control's clock), packets and keyframes they still owe, layers that stopped. */
  fastTick(): void {
    for (const track of this.tracks.values()) {
      track.sendTransportFeedback();
      track.askAgainForLosses();
      track.sendOwedKeyframeRequests();
      track.checkUplink();
      track.checkLayers();
    }
  }

  /** Once a second: RTCP both ways, dynacast, active speakers. */
  report(): void {
    for (const track of this.tracks.values()) {
      track.sendReports();
      for (const downstream of track.downstreams) downstream.sendSenderReport();
      this.updateWantedLayers(track);
    }
  }

  evaluateSpeakers(): void {
    const speakers = this.speakers.evaluate();
    if (speakers && speakers[0] !== this.loudest) this.mixer?.link.speaker(speakers[0]);
    if (speakers) this.loudest = speakers[0];
    if (speakers) this.emit({ event: 'activeSpeakers', room: this.name, speakers });
  }

  close(): void {
    for (const participant of [...this.members.keys()]) this.leave(participant);
    for (const recording of [...this.recordings.keys()]) this.stopRecording(recording);
    this.stopMix();
  }

  /**
   * Feed the room's audio to its mixer process on 127.0.0.1:port and forward what it mixes to
   * each member with a mix (everyone in an MCU room; those who joined `mixed` in others). A second call (the mixer restarted) replaces the connection; the listeners'
   * mixed tracks stay, so their browsers hear the new mixer on the same track.
   */
  mix({ port, secret }: RouterRequest<'mix'>): void {
    this.stopMix();
    const link = new MixerLink({
      target: { recording: this.name, port, secret },
      onError: (message) => this.emit({ event: 'log', level: 'warn', message, fields: { room: this.name } }),
      onMixed: (listener, packet, inputArrivalMs, kind, tier) => {
        const member = this.members.get(listener);
        const mix = kind === 'audio' ? member?.mix : member?.mixVideo;
        if (!mix) return;
        // A silent mix (nobody else's audio in it) has no input to measure from.
        if (kind === 'audio' && inputArrivalMs > 0) {
          this.counters.mixedPackets += 1;
          this.counters.mixLatencyMsTotal += performance.timeOrigin + performance.now() - inputArrivalMs;
        }
        mix.forward(packet, timestamp(packet), tier);
      },
      onKeyframeRequest: (trackId) => {
        const track = this.tracks.get(trackId);
        const layer = track && this.mixer?.inputs.get(track)?.layer;
        if (track && layer !== undefined) track.requestKeyframe(layer);
      },
    });
    const mixer = { link, inputs: new Map<PublishedTrack, PacketRecorder>() };
    this.mixer = mixer;
    for (const [participant, member] of this.members) {
      if (!member.mix) continue;
      member.mix.newMixer();
      member.mixVideo?.newMixer();
      link.listener(participant, true, member.mixVideo?.wantedTier());
    }
    if (this.loudest !== undefined) link.speaker(this.loudest);
    for (const track of this.tracks.values()) if (this.mixerTakes(track)) this.feedMixer(mixer, track);
  }

  stopMix(): void {
    if (!this.mixer) return;
    for (const [track, input] of this.mixer.inputs) track.removeRecorder(input);
    this.mixer.link.close();
    this.mixer = undefined;
  }

  /** Audio always; video when the mixer makes a grid of it (in a codec its decoders take: VP8, VP9, H.264). */
  private mixerTakes(track: PublishedTrack): boolean {
    return track.kind === 'audio' || (this.config.mixVideo === true && MIXER_DECODES.has(track.codec as VideoCodecName));
  }

  private feedMixer(mixer: NonNullable<RoomRouter['mixer']>, track: PublishedTrack): void {
    const input = mixer.link.input(this.describe(track), track.kind === 'video' ? { layer: mixerLayer(track) } : undefined);
    mixer.inputs.set(track, input);
    track.addRecorder(input);
  }

  /** A server recording: every track, and those published while it runs, copied to the recorder. */
  record({ recording, port, secret }: RouterRequest<'record'>): void {
    if (this.recordings.has(recording)) throw new Error(`recording ${recording} is already running`);
    const tap = new RecordingTap({ recording, port, secret }, (message) => this.emit({ event: 'log', level: 'warn', message, fields: { room: this.name } }));
    const entry = { tap, recorders: new Map<PublishedTrack, PacketRecorder>() };
    this.recordings.set(recording, entry);
    for (const track of this.tracks.values()) this.startRecordingTrack(entry, track);
  }

  stopRecording(recording: string): { sentBytes: number; droppedBytes: number } {
    const entry = this.recordings.get(recording);
    if (!entry) return { sentBytes: 0, droppedBytes: 0 };
    for (const [track, recorder] of entry.recorders) track.removeRecorder(recorder);
    entry.tap.close();
    this.recordings.delete(recording);
    return { sentBytes: entry.tap.sentBytes, droppedBytes: entry.tap.droppedBytes };
  }

  private startRecordingTrack(entry: { tap: RecordingTap; recorders: Map<PublishedTrack, PacketRecorder> }, track: PublishedTrack): void {
    const recorder = entry.tap.track(this.describe(track));
    entry.recorders.set(track, recorder);
    track.addRecorder(recorder);
  }

  private describe(track: PublishedTrack): TrackDescription {
    const codec = track.negotiatedCodec;
    const name = this.members.get(track.publisher)?.name;
    return {
      trackId: track.id,
      participant: track.publisher,
      ...(name !== undefined ? { name } : {}),
      source: track.source,
      kind: track.kind,
      codec: track.codec,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      rids: [...track.rids],
      ...(track.kind === 'audio' ? { channels: 2 } : {}),
    };
  }

  /** Codecs of the room's preference that every other participant decodes (all of them if none fits). */
  private decodableVideoCodecs(publisher: string): VideoCodecName[] {
    const others = [...this.members].filter(([identity, member]) => identity !== publisher && member.canSubscribe).map(([, member]) => member);
    // Who sees the mixer's grid does not receive this video itself: the mixer does, and decodes
    // VP8, VP9 and H.264, not AV1. In an `mcu` room it always will (whoever joins next sees the grid).
    const receivers: Array<ReadonlySet<VideoCodecName>> = others.filter((member) => !member.mixVideo).map((member) => member.decodes);
    const mcuGrid = this.config.mixAudio === true && this.config.mixVideo === true;
    if (mcuGrid || others.some((member) => member.mixVideo)) receivers.push(MIXER_DECODES);
    return publisherCodecs(this.config.videoCodecs, receivers);
  }

  private updateWantedLayers(track: PublishedTrack, now = performance.now()): void {
    if (track.rids.length < 2) return;
    let lastWanted = this.layerWantedAt.get(track.id);
    if (!lastWanted) this.layerWantedAt.set(track.id, (lastWanted = track.rids.map(() => now)));
    const wanted = track.wantedLayers();
    // Keep the lowest layer always on: a new subscriber starts there without waiting for a resume.
    wanted.add(0);
    for (const layer of wanted) lastWanted[layer] = now;
    // Resume at once, pause only after a short while, so a subscriber switching back and forth
    // does not toggle the publisher's encodings at every switch.
    const rids = track.rids.filter((_, layer) => now - lastWanted[layer]! < DYNACAST_PAUSE_AFTER_MS);
    const key = rids.join(',');
    if (this.wantedRids.get(track.id) === key) return;
    this.wantedRids.set(track.id, key);
    this.emit({ event: 'layersWanted', room: this.name, participant: track.publisher, trackId: track.id, rids });
  }
}
