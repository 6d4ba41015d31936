import type { SubscribedTrack, TrackSource, VideoQuality } from '@parley/protocol';
import type { VideoProfile } from '../adaptive-bitrate.js';
import type { StreamOwner } from '../stats.js';
import type { Timeline } from '../timeline.js';
import { SfuPublisher, type Publication, type SignalChannel } from './sfu-publisher.js';
import { SfuSubscriber } from './sfu-subscriber.js';

export type { SignalChannel } from './sfu-publisher.js';

export interface SfuConnectionHandlers {
  trackAdded(info: SubscribedTrack, track: MediaStreamTrack): void;
  trackRemoved(info: SubscribedTrack, track: MediaStreamTrack): void;
  failed(error: Error): void;
}

export interface SfuConnectionOptions {
  /** The room's current signaling connection. */
  signal: SignalChannel;
  configuration: RTCConfiguration;
  timeline: Timeline;
  handlers: SfuConnectionHandlers;
}

/**
 * Media through the SFU, as the room sees it: the sending half (`SfuPublisher`, one connection per
 * published track) and the receiving half (`SfuSubscriber`, one connection the SFU offers) behind
 * one object, made when the room moves to the SFU and closed, as a whole, when it leaves it or
 * the SFU restarts its media (`mediaReset`).
 */
export class SfuConnection {
  private readonly publisher: SfuPublisher;
  private readonly receiver: SfuSubscriber;

  constructor({ signal, configuration, timeline, handlers }: SfuConnectionOptions) {
    this.publisher = new SfuPublisher({ signal, configuration, timeline, failed: (error) => handlers.failed(error) });
    this.receiver = new SfuSubscriber({ signal, configuration, timeline, handlers });
  }

  /** The sending connections by source (`room.debugState()` reads them). */
  get publications(): ReadonlyMap<TrackSource, Publication> {
    return this.publisher.publications;
  }

  /** The receiving connection (`room.debugState()` reads it). */
  get subscriber(): RTCPeerConnection | undefined {
    return this.receiver.pc;
  }

  publish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    return this.publisher.publish(source, track);
  }

  unpublish(source: TrackSource): Promise<void> {
    return this.publisher.unpublish(source);
  }

  /** Dynacast: the SFU says which layers of one of our tracks have receivers. */
  setLayersWanted(trackId: string, rids: readonly string[]): Promise<void> {
    return this.publisher.setLayersWanted(trackId, rids);
  }

  setCameraProfile(profile: VideoProfile): Promise<void> {
    return this.publisher.setCameraProfile(profile);
  }

  /** Ids the SFU gave our published tracks. */
  publishedTrackIds(): string[] {
    return this.publisher.publishedTrackIds();
  }

  /**
   * Applied once the publications in flight have their answers: a page's RTCPeerConnections share
   * one signaling thread, and a joining participant's first receiving offer (an m-line per track
   * in the room) held its camera's answer behind it. bench:join sfu-4, 20 joins each way: the SFU
   * answered the camera ~10 ms after its offer but the page applied the answer at 290 ms (median,
   * since connect()) while it answered a 6-track offer; with the offer applied after it, 149 ms,
   * camera ICE 476 -> 231 ms, its first packet at the SFU 584 -> 385 ms, and the newcomer's own
   * view of the others no later (780 -> 729 ms).
   */
  receiveOffer(sdp: string, tracks: SubscribedTrack[], offerId: number): void {
    this.receiver.receiveOffer(sdp, tracks, offerId, this.publisher.negotiated());
  }

  setVideoQuality(trackId: string, quality: VideoQuality): Promise<void> {
    return this.receiver.setVideoQuality(trackId, quality);
  }

  trackIdOf(participant: string, source: TrackSource): string | undefined {
    return this.receiver.trackIdOf(participant, source);
  }

  /** Every connection with a describer for its streams, for getStats. */
  connections(localIdentity: string): { pc: RTCPeerConnection; describe: (mid: string | undefined) => StreamOwner | undefined }[] {
    const result: { pc: RTCPeerConnection; describe: (mid: string | undefined) => StreamOwner | undefined }[] = [];
    for (const [source, publication] of this.publisher.publications) result.push({ pc: publication.pc, describe: () => ({ participant: localIdentity, source }) });
    if (this.receiver.pc) result.push({ pc: this.receiver.pc, describe: (mid) => this.receiver.describe(mid) });
    return result;
  }

  close(): void {
    this.publisher.close();
    this.receiver.close();
  }
}
