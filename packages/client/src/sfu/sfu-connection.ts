import type { SubscribedTrack, TrackSource, VideoQuality } from '@parley/protocol';
import type { SignalClient } from '../signal-client.js';
import { applyProfile, type VideoProfile } from '../adaptive-bitrate.js';
import type { StreamOwner } from '../stats.js';
import { withStartBitrate } from '../start-bitrate.js';
import type { Timeline } from '../timeline.js';
import { withOfferedReceiverReferenceTime } from './subscriber-answer.js';

/** What the SFU connection sends through: the room's current signaling connection. */
export type SignalChannel = Pick<SignalClient, 'request'>;

export interface SfuConnectionHandlers {
  trackAdded(info: SubscribedTrack, track: MediaStreamTrack): void;
  trackRemoved(info: SubscribedTrack, track: MediaStreamTrack): void;
  failed(error: Error): void;
}

interface Publication {
  pc: RTCPeerConnection;
  sender: RTCRtpSender;
  trackId: string | undefined;
}

/**
 * Simulcast layers for camera video, lowest first (the SFU numbers layers in this order).
 * Chromium sends three layers only from about 960x540 input; smaller cameras send fewer.
 */
const CAMERA_LAYERS: RTCRtpEncodingParameters[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/** Fresh receiving connections asked for in a row, none of which connected, before giving up. */
const MAX_RESUBSCRIBES_WITHOUT_CONNECTING = 3;

/**
 * Media through the SFU: one sending PeerConnection per published track (the SFU engine routes
 * one m-line per connection), and one receiving PeerConnection the SFU offers and renegotiates
 * as tracks come and go.
 */
export class SfuConnection {
  private readonly publications = new Map<TrackSource, Publication>();
  private subscriber: RTCPeerConnection | undefined;
  private readonly subscribed = new Map<string, SubscribedTrack>();
  private readonly receivedTracks = new Map<string, MediaStreamTrack>();
  private offers: Promise<void> = Promise.resolve();
  /** Dynacast: layers the SFU says have receivers, per track id. */
  private readonly wantedRids = new Map<string, readonly string[]>();
  /** Adaptive bitrate: in the low profile the top camera layer stays off. */
  private cameraProfile: VideoProfile = 'high';
  private parameterUpdates: Promise<void> = Promise.resolve();
  private resubscribesWithoutConnecting = 0;
  private closed = false;

  constructor(
    private readonly signal: SignalChannel,
    private readonly configuration: RTCConfiguration,
    private readonly timeline: Timeline,
    private readonly handlers: SfuConnectionHandlers,
  ) {}

  async publish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    const existing = this.publications.get(source);
    if (existing) {
      await existing.sender.replaceTrack(track);
      return;
    }
    const pc = new RTCPeerConnection(this.configuration);
    const stream = new MediaStream([track]);
    const simulcast = source === 'camera' && track.kind === 'video';
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], ...(simulcast ? { sendEncodings: CAMERA_LAYERS.map((l) => ({ ...l })) } : {}) });
    const publication: Publication = { pc, sender: transceiver.sender, trackId: undefined };
    this.publications.set(source, publication);
    this.timeline.watch(pc, `pub:${source}`);
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed' && this.publications.get(source) === publication) void this.republish(source, track);
    };
    try {
      await pc.setLocalDescription();
      this.timeline.mark('publishOffer', source);
      const reply = await this.signal.request({ type: 'publishTrack', source, sdp: pc.localDescription!.sdp });
      this.timeline.mark('publishAnswer', source);
      if (this.closed || this.publications.get(source) !== publication) {
        pc.close();
        return;
      }
      publication.trackId = reply.trackId;
      await pc.setRemoteDescription(withStartBitrate({ type: 'answer', sdp: reply.sdp }));
    } catch (error) {
      if (this.publications.get(source) === publication) this.publications.delete(source);
      pc.close();
      throw error;
    }
  }

  /** The track's connection failed (network change, long outage): publish it again on a new one. */
  private async republish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    if (this.closed) return;
    await this.unpublish(source);
    await this.publish(source, track).catch((error: Error) => this.handlers.failed(error));
  }

  async unpublish(source: TrackSource): Promise<void> {
    const publication = this.publications.get(source);
    if (!publication) return;
    this.publications.delete(source);
    publication.pc.close();
    if (publication.trackId) await this.signal.request({ type: 'unpublishTrack', trackId: publication.trackId }).catch(() => undefined);
  }

  /** Dynacast: the SFU says which layers have receivers; the others stop encoding. */
  async setLayersWanted(trackId: string, rids: readonly string[]): Promise<void> {
    this.wantedRids.set(trackId, rids);
    const publication = [...this.publications.values()].find((p) => p.trackId === trackId);
    if (publication) await this.updateParameters(() => this.applyLayers(publication));
  }

  /** Adaptive bitrate for the camera: frame rate on every layer, and the top layer only in `high`. */
  async setCameraProfile(profile: VideoProfile): Promise<void> {
    this.cameraProfile = profile;
    const publication = this.publications.get('camera');
    if (!publication) return;
    await this.updateParameters(async () => {
      await applyProfile(publication.sender, profile);
      await this.applyLayers(publication);
    });
  }

  get cameraSender(): RTCRtpSender | undefined {
    return this.publications.get('camera')?.sender;
  }

  /**
   * Runs sender parameter changes one at a time: dynacast and the adaptive bitrate both change
   * encodings, and a setParameters based on parameters read before another one finished is
   * refused (stale transaction id), which would leave a layer on that should be off.
   */
  private updateParameters(update: () => Promise<void>): Promise<void> {
    const run = this.parameterUpdates.then(update, update);
    this.parameterUpdates = run.catch(() => undefined);
    return run;
  }

  private async applyLayers(publication: Publication): Promise<void> {
    const parameters = publication.sender.getParameters();
    if (!parameters.encodings || parameters.encodings.length < 2) return;
    const wanted = publication.trackId === undefined ? undefined : this.wantedRids.get(publication.trackId);
    const top = parameters.encodings[parameters.encodings.length - 1]!.rid;
    for (const encoding of parameters.encodings) {
      if (!encoding.rid) continue;
      const allowed = !(this.cameraProfile === 'low' && encoding.rid === top && publication === this.publications.get('camera'));
      encoding.active = allowed && (wanted === undefined || wanted.includes(encoding.rid));
    }
    await publication.sender.setParameters(parameters);
  }

  async setVideoQuality(trackId: string, quality: VideoQuality): Promise<void> {
    await this.signal.request({ type: 'setVideoQuality', trackId, quality });
  }

  /** The SFU's (re)offer of everything this participant receives. Offers apply in order. */
  receiveOffer(sdp: string, tracks: SubscribedTrack[]): void {
    this.offers = this.offers.then(() => this.applyOffer(sdp, tracks)).catch((error: unknown) => {
      if (!this.closed) this.recoverSubscriber(error as Error);
    });
  }

  /** Ids the SFU gave our published tracks. */
  publishedTrackIds(): string[] {
    return [...this.publications.values()].flatMap((p) => (p.trackId === undefined ? [] : [p.trackId]));
  }

  trackIdOf(participant: string, source: TrackSource): string | undefined {
    for (const info of this.subscribed.values()) if (info.participant === participant && info.source === source) return info.trackId;
    return undefined;
  }

  /** Every connection with a describer for its streams, for getStats. */
  connections(localIdentity: string): { pc: RTCPeerConnection; describe: (mid: string | undefined) => StreamOwner | undefined }[] {
    const result: { pc: RTCPeerConnection; describe: (mid: string | undefined) => StreamOwner | undefined }[] = [];
    for (const [source, publication] of this.publications) result.push({ pc: publication.pc, describe: () => ({ participant: localIdentity, source }) });
    if (this.subscriber) {
      result.push({
        pc: this.subscriber,
        describe: (mid) => {
          const info = mid === undefined ? undefined : this.subscribed.get(mid);
          return info ? { participant: info.participant, source: info.source } : undefined;
        },
      });
    }
    return result;
  }

  close(): void {
    this.closed = true;
    for (const publication of this.publications.values()) publication.pc.close();
    this.publications.clear();
    this.subscriber?.close();
    this.subscriber = undefined;
    this.subscribed.clear();
    this.receivedTracks.clear();
  }

  /**
   * The receiving side broke: an offer or answer was refused (seen once after an SFU worker
   * restart: the SFU refused our answer and nothing arrived), or ICE or DTLS failed. Start it
   * afresh; only when fresh connections keep failing before one connects does the room hear of it.
   */
  private recoverSubscriber(error: Error): void {
    if (this.resubscribesWithoutConnecting >= MAX_RESUBSCRIBES_WITHOUT_CONNECTING) return this.handlers.failed(error);
    this.resubscribesWithoutConnecting++;
    this.resubscribe();
  }

  /** Drops the receiving connection and asks the SFU for a fresh one with every track. */
  private resubscribe(): void {
    this.subscriber?.close();
    this.subscriber = undefined;
    for (const [mid, info] of this.subscribed) {
      const track = this.receivedTracks.get(mid);
      if (track) this.handlers.trackRemoved(info, track);
    }
    this.subscribed.clear();
    this.receivedTracks.clear();
    this.signal.request({ type: 'resubscribe' }).catch((error: Error) => this.handlers.failed(error));
  }

  private async applyOffer(sdp: string, tracks: SubscribedTrack[]): Promise<void> {
    if (this.closed) return;
    const pc = this.subscriberConnection();
    const next = new Map(tracks.map((info) => [info.mid, info]));
    for (const [mid, info] of this.subscribed) {
      if (next.has(mid)) continue;
      const track = this.receivedTracks.get(mid);
      this.receivedTracks.delete(mid);
      if (track) this.handlers.trackRemoved(info, track);
    }
    this.subscribed.clear();
    for (const [mid, info] of next) this.subscribed.set(mid, info);
    const described = tracks.map((t) => `${t.participant}:${t.source}`).join(',');
    this.timeline.mark('subscriberOffer', described);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription({ type: 'answer', sdp: withOfferedReceiverReferenceTime(answer.sdp ?? '', sdp) });
    const answered = this.signal.request({ type: 'subscriberAnswer', sdp: pc.localDescription!.sdp });
    this.timeline.mark('subscriberAnswer', described);
    await answered;
  }

  private subscriberConnection(): RTCPeerConnection {
    if (this.subscriber) return this.subscriber;
    const pc = new RTCPeerConnection(this.configuration);
    this.timeline.watch(pc, 'sub');
    pc.ontrack = ({ track, transceiver }) => {
      const mid = transceiver.mid;
      const info = mid === null ? undefined : this.subscribed.get(mid);
      if (!info || mid === null) return;
      this.receivedTracks.set(mid, track);
      this.handlers.trackAdded(info, track);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.subscriber) return;
      if (pc.connectionState === 'connected') this.resubscribesWithoutConnecting = 0;
      if (pc.connectionState === 'failed') this.recoverSubscriber(new Error('the receiving connection failed'));
    };
    this.subscriber = pc;
    return pc;
  }
}
