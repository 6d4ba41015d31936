import type { SubscribedTrack, TrackSource, VideoQuality } from '@parley/protocol';
import type { VideoCodecName } from './codecs.js';

/** Messages between the signaling process and an SFU worker process (node IPC, JSON). */

/** The protocol's vocabulary, re-exported for the worker's side. */
export type { SubscribedTrack, VideoQuality };

export interface RoomMediaConfig {
  /** Preference order; a publisher's codec is the first it offers that every receiver decodes. */
  videoCodecs: VideoCodecName[];
  /** MCU: participants hear the others through the room's mixer (`mix`), not as one audio track each. */
  mixAudio?: boolean;
  /** Whoever hears the mix also sees the mixer's video grid (one VP8 track), not one video track per publisher. */
  mixVideo?: boolean;
  /** The grid's tiers' bitrates, lowest first (`mcu.videoTiers`): what each receiver's downlink allocation chooses among. Absent: one tier. */
  mixVideoTierKbps?: number[];
}

export type WorkerRequest =
    /** `mixed`: hears the room's audio through its mixer (as everyone does in an `mcu` room), not as one track per publisher. */
  | { op: 'join'; room: string; participant: string; /** Display name (the MCU grid's placeholder shows it). */ name?: string; canSubscribe: boolean; decodes: VideoCodecName[]; mixed?: boolean; config: RoomMediaConfig }
  | { op: 'leave'; room: string; participant: string }
  | { op: 'publish'; room: string; participant: string; trackId: string; source: TrackSource; sdp: string }
  | { op: 'unpublish'; room: string; participant: string; trackId: string }
  /** `offerId`: the offer answered (`subscriberOffer.offerId`); absent: whichever is waiting. */
  | { op: 'answer'; room: string; participant: string; sdp: string; offerId?: number }
  | { op: 'resendOffer'; room: string; participant: string }
  | { op: 'resubscribe'; room: string; participant: string }
  | { op: 'setQuality'; room: string; participant: string; trackId: string; quality: VideoQuality }
  /** Copy the room's tracks (and those published later) to a recorder process listening on 127.0.0.1:port. */
  | { op: 'record'; room: string; recording: string; port: number; secret: string }
  | { op: 'stopRecording'; room: string; recording: string }
  /** MCU, or a room with `mixed` receivers: feed the room's audio to its mixer process on 127.0.0.1:port (again after a mixer restart) and forward each listener's mix. */
  | { op: 'mix'; room: string; port: number; secret: string }
  | { op: 'stopMix'; room: string }
  | { op: 'stats'; room?: string }
  | { op: 'timeline'; room: string }
  /**
   * Internal, for tests and benchmarks (`MediaCoordinator.capDownlink`): hold a subscriber's
   * downlink estimate at most `bps` (null: lift it), as if its link carried no more.
   */
  | { op: 'capDownlink'; room: string; participant: string; bps: number | null };

/** A room request as the room's router takes it: the same object, less what routed it there. */
export type RouterRequest<Op extends WorkerRequest['op']> = Omit<Extract<WorkerRequest, { op: Op }>, 'op' | 'room'>;

export interface WorkerResults {
  join: void;
  leave: void;
  publish: { sdp: string; codec: string };
  unpublish: void;
  /** `stale`: not the answer to the offer waiting, ignored (`worker/subscriber-connection.ts`). */
  answer: 'applied' | 'stale';
  resendOffer: void;
  resubscribe: void;
  setQuality: void;
  record: void;
  /** Bytes the tap sent to the recorder, and those it could not send (the recorder fell behind or was gone). */
  stopRecording: { sentBytes: number; droppedBytes: number };
  mix: void;
  stopMix: void;
  stats: WorkerStats;
  timeline: TrackTimeline[];
  capDownlink: void;
}

/** A published track's first moments on the SFU (Date.now() times), for `bench:join`. */
export interface TrackTimeline {
  trackId: string;
  publisher: string;
  source: TrackSource;
  firstPacketAt: number | undefined;
}

/** Published tracks and their subscriptions, for one kind and codec. */
export interface TrackCount {
  kind: 'audio' | 'video';
  codec: string;
  published: number;
  subscribed: number;
}

export interface WorkerStats {
  rooms: number;
  publishedTracks: number;
  downstreams: number;
  packetsIn: number;
  /** RTP bytes received from publishers on their media payload type (headers included; RTX resends not). */
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Times a subscriber's forwarded simulcast layer changed. */
  layerSwitches: number;
  retransmissions: number;
  keyframeRequests: number;
  /** Sequence numbers the SFU asked publishers to resend (loss on their uplink). */
  nacksToPublishers: number;
  /** Transport-wide feedback packets sent to publishers (their congestion control runs on them). */
  transportFeedbacks: number;
  /** Padding-only packets from publishers, left out of what subscribers receive. */
  paddingDropped: number;
  /** Transport-wide feedback packets from subscribers (their downlink estimates run on them). */
  subscriberFeedbacks: number;
  /** Padding-only packets sent to probe subscribers' downlinks before a higher layer. */
  probePackets: number;
  /** Times a publisher's uplink collapsed (most of every layer lost): its subscribers dropped to the lowest layer. */
  uplinkCollapses: number;
  /** MCU: mixed audio packets the mixers sent back holding someone's voice (each forwarded to its one listener). */
  mixedPackets: number;
  /** MCU: over those packets, the sum of milliseconds from the newest input audio's arrival at the worker to the mix's return. */
  mixLatencyMsTotal: number;
  /** CPU seconds (user + system) the worker process has used: the whole worker's, whatever room was asked for. */
  cpuSeconds: number;
  /** The worker's event-loop delay, p99 over the last 10-20 s (seconds); over workers, the largest. */
  eventLoopLagSeconds: number;
  /** Stalls of the worker's loop (its 25 ms timer over 50 ms late), whose backlog stayed out of publishers' transport-wide feedback (`worker/loop-watch.ts`). */
  loopStalls: number;
  tracks: TrackCount[];
}

export type WorkerEvent =
  | { event: 'ready' }
  | { event: 'offer'; room: string; participant: string; sdp: string; tracks: SubscribedTrack[]; offerId: number }
  | { event: 'activeSpeakers'; room: string; speakers: string[] }
  /** `subscriber` now receives `participant`'s track through the SFU (its first packet went out). */
  | { event: 'delivered'; room: string; participant: string; trackId: string; subscriber: string; /** Wall clock (ms) when the worker sent the subscriber the track's first (key)frame. */ at: number }
  /** Which simulcast layers of a track someone receives; the publisher pauses the others. */
  | { event: 'layersWanted'; room: string; participant: string; trackId: string; rids: string[] }
  | { event: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

export type WorkerMessageIn = { id: number; request: WorkerRequest };
export type WorkerMessageOut = { replyTo: number; ok: true; result: unknown } | { replyTo: number; ok: false; error: string } | WorkerEvent;
