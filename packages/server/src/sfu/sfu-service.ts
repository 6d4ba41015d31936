import type { TrackSource } from '@parley/protocol';
import type { VideoCodecName } from './codecs.js';
import type { RoomMediaConfig, SubscribedTrack, TrackTimeline, VideoQuality, WorkerStats } from './worker-protocol.js';

export interface SfuEvents {
  /** A new subscriber offer for `participant` (tracks added or removed). */
  offer: (room: string, participant: string, sdp: string, tracks: SubscribedTrack[]) => void;
  activeSpeakers: (room: string, speakers: string[]) => void;
  delivered: (room: string, participant: string, trackId: string, subscriber: string) => void;
  layersWanted: (room: string, participant: string, trackId: string, rids: string[]) => void;
  /** The media of these rooms was lost (worker crash); their participants must publish and subscribe again. */
  roomsLost: (rooms: string[]) => void;
}

/**
 * The media plane as signaling sees it. The implementation (worker processes running
 * libdatachannel today) can change without touching rooms or sessions.
 */
export interface SfuService {
  join(room: string, participant: string, options: { canSubscribe: boolean; decodes: VideoCodecName[]; config: RoomMediaConfig }): Promise<void>;
  leave(room: string, participant: string): Promise<void>;
  /** Signaling has no one left in the room: forget where its media lived. */
  releaseRoom(room: string): void;
  /** Answers a publisher's offer (one track per connection). */
  publish(room: string, participant: string, trackId: string, source: TrackSource, sdp: string): Promise<{ sdp: string; codec: string }>;
  unpublish(room: string, participant: string, trackId: string): Promise<void>;
  answer(room: string, participant: string, sdp: string): Promise<void>;
  /** Sends the participant's pending subscriber offer again (its signaling reconnected). */
  resendOffer(room: string, participant: string): Promise<void>;
  /** Replaces the participant's receiving connection with a fresh one (its ICE failed). */
  resubscribe(room: string, participant: string): Promise<void>;
  setQuality(room: string, participant: string, trackId: string, quality: VideoQuality): Promise<void>;
  /** Per worker; `room` limits room and track counts to that room (packet counters stay worker-wide). */
  stats(room?: string): Promise<WorkerStats[]>;
  /** The room's published tracks and when their first packet arrived (empty if the room has no media). */
  timeline(room: string): Promise<TrackTimeline[]>;
  on<E extends keyof SfuEvents>(event: E, listener: SfuEvents[E]): void;
  close(): Promise<void>;
}
