import type { TrackSource } from '@parley/protocol';
import type { SignalClient } from '../signal-client.js';
import { applyProfile, type VideoProfile } from '../adaptive-bitrate.js';
import { withStartBitrate } from '../start-bitrate.js';
import type { Timeline } from '../timeline.js';
import { log } from '../log.js';
import { requestAgain, WHILE_RECONNECTING_ATTEMPTS, type RequestSchedule } from './request-again.js';

/** What the SFU's connections send through: the room's current signaling connection. */
export type SignalChannel = Pick<SignalClient, 'request'>;

export interface SfuPublisherOptions {
  signal: SignalChannel;
  configuration: RTCConfiguration;
  timeline: Timeline;
  /** Publishing a track again after its connection failed did not work. */
  failed(error: Error): void;
}

/** One published track: its own sending connection, and the id the SFU gave it once it answered. */
export interface Publication {
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

/**
 * `publishTrack` again: lost with the signaling connection, once a second while it reconnects; one
 * unanswered on an open connection, at once, a few times. The server may have published the first
 * (its reply lost): the same `cid` makes it replace that publication.
 */
export const PUBLISH_SCHEDULE: RequestSchedule = { lostDelayMs: 1000, lostAttempts: WHILE_RECONNECTING_ATTEMPTS, timeoutDelayMs: 0, timeoutAttempts: 3 };

/** A publication's name for the server (`publishTrack`'s `cid`): 16 hex digits (getRandomValues works outside secure contexts too). */
function newCid(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * What this participant sends to the SFU: one sending PeerConnection per published track (the SFU
 * engine routes one m-line per connection; the server's side is `worker/published-track.ts`), the
 * camera as three simulcast layers whose encodings follow dynacast and the adaptive bitrate.
 */
export class SfuPublisher {
  /** The sending connections by source (`room.debugState()` reads them). */
  readonly publications = new Map<TrackSource, Publication>();
  /** Dynacast: layers the SFU says have receivers, per track id. */
  private readonly wantedRids = new Map<string, readonly string[]>();
  /** Adaptive bitrate: in the low profile the top camera layer stays off. */
  private cameraProfile: VideoProfile = 'high';
  private parameterUpdates: Promise<void> = Promise.resolve();
  /** Publications between their offer and their answer applied (see `negotiated`). */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: SfuPublisherOptions) {}

  publish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    const existing = this.publications.get(source);
    if (existing) return existing.sender.replaceTrack(track);
    const negotiation = this.negotiate(source, track);
    const settled = negotiation.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return negotiation;
  }

  /** Resolves when every publication now between its offer and its answer has its answer applied, or failed. */
  negotiated(): Promise<void> {
    return Promise.all(this.inFlight).then(() => undefined);
  }

  private async negotiate(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    const { timeline } = this.options;
    const pc = new RTCPeerConnection(this.options.configuration);
    const stream = new MediaStream([track]);
    const simulcast = source === 'camera' && track.kind === 'video';
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], ...(simulcast ? { sendEncodings: CAMERA_LAYERS.map((l) => ({ ...l })) } : {}) });
    const publication: Publication = { pc, sender: transceiver.sender, trackId: undefined };
    this.publications.set(source, publication);
    timeline.watch(pc, `pub:${source}`);
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed' && this.publications.get(source) === publication) void this.republish(source, track);
    };
    try {
      await pc.setLocalDescription();
      timeline.mark('publishOffer', source);
      const reply = await this.requestPublish(source, pc.localDescription!.sdp, publication);
      timeline.mark('publishAnswer', source);
      if (!reply || this.closed || this.publications.get(source) !== publication) {
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

  /**
   * `publishTrack` for `publication`, sent again as PUBLISH_SCHEDULE says; undefined when the
   * publication was closed or replaced meanwhile.
   */
  private requestPublish(source: TrackSource, sdp: string, publication: Publication) {
    const cid = newCid();
    return requestAgain(() => this.options.signal.request({ type: 'publishTrack', source, sdp, cid }), {
      schedule: PUBLISH_SCHEDULE,
      wanted: () => !this.closed && this.publications.get(source) === publication,
      onAgain: (error) => this.options.timeline.mark('publishAgain', `${source} after ${error.message}`),
    });
  }

  /** The track's connection failed (network change, long outage): publish it again on a new one. */
  private async republish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    if (this.closed) return;
    await this.unpublish(source);
    await this.publish(source, track).catch((error: Error) => this.options.failed(error));
  }

  async unpublish(source: TrackSource): Promise<void> {
    const publication = this.publications.get(source);
    if (!publication) return;
    this.publications.delete(source);
    publication.pc.close();
    // The connection may be closing with the room; the server drops the track when the participant leaves.
    if (publication.trackId) await this.options.signal.request({ type: 'unpublishTrack', trackId: publication.trackId }).catch((error: unknown) => log.debug('unpublishTrack was not acknowledged', error));
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

  /** Ids the SFU gave our published tracks. */
  publishedTrackIds(): string[] {
    return [...this.publications.values()].flatMap((p) => (p.trackId === undefined ? [] : [p.trackId]));
  }

  close(): void {
    this.closed = true;
    for (const publication of this.publications.values()) publication.pc.close();
    this.publications.clear();
  }

  /**
   * Runs sender parameter changes one at a time: dynacast and the adaptive bitrate both change
   * encodings, and a setParameters based on parameters read before another one finished is
   * refused (stale transaction id), which would leave a layer on that should be off.
   */
  private updateParameters(update: () => Promise<void>): Promise<void> {
    const run = this.parameterUpdates.then(update, update);
    // The caller gets the error through `run`; the chain only has to go on.
    this.parameterUpdates = run.catch(() => undefined);
    return run;
  }

  private async applyLayers(publication: Publication): Promise<void> {
    const parameters = publication.sender.getParameters();
    if (!parameters.encodings || parameters.encodings.length < 2) return;
    const wanted = publication.trackId === undefined ? undefined : this.wantedRids.get(publication.trackId);
    const top = parameters.encodings[parameters.encodings.length - 1]!.rid;
    const capped = this.cameraProfile === 'low' && publication === this.publications.get('camera');
    for (const encoding of parameters.encodings) {
      if (encoding.rid) encoding.active = layerActive(encoding.rid, { top, wanted, capped });
    }
    await publication.sender.setParameters(parameters);
  }
}

/**
 * Whether the simulcast layer `rid` is encoded: when some receiver wants it (every layer until the
 * SFU has said), except the top layer of a `capped` track (the camera in the low profile).
 */
export function layerActive(rid: string, { top, wanted, capped }: { top: string | undefined; wanted: readonly string[] | undefined; capped: boolean }): boolean {
  if (capped && rid === top) return false;
  return wanted === undefined || wanted.includes(rid);
}
