import type { LeaveReason, Topology, TrackSource } from '@parley/protocol';
import type { CallQualityIssue, CallQualitySummary, CallRating } from '../analytics/call-quality.js';
import type { RecordingListing } from '../recording/recording-types.js';

/**
 * What happened to a room, in the order it happened: the feed webhooks are sent from (and, with
 * a cluster, what other nodes will hear). Names and shapes are the webhook payload's
 * (docs/webhooks.md), so they are part of Parley's public API: add, never rename.
 */
export type RoomEventName = RoomEvent['event'];
export const ROOM_EVENT_NAMES = ['room_started', 'room_finished', 'participant_joined', 'participant_left', 'track_published', 'track_unpublished', 'recording_ready', 'recording_failed'] as const satisfies readonly RoomEventName[];

export interface RoomRef {
  name: string;
  topology: Topology;
}
export interface ParticipantRef {
  identity: string;
  name: string;
}
export interface TrackRef {
  id: string;
  source: TrackSource;
  codec?: string;
}

/**
 * The room of a recording event: a recording often becomes ready after its room ended (the
 * export runs after the last participant left), and then there is no topology to tell.
 */
export interface RecordingRoomRef {
  name: string;
  topology?: Topology;
}

/** A participant's call in a room's summary: enough to say whose network it was. */
export interface ParticipantQuality {
  identity: string;
  rating: CallRating;
  issues: CallQualityIssue[];
  networkAtFault: boolean;
}

export type RoomEvent =
  | { event: 'room_started'; room: RoomRef }
  /** `quality`: every participant who sent quality reports, in the order they left. */
  | { event: 'room_finished'; room: RoomRef; quality: { participants: ParticipantQuality[] } }
  | { event: 'participant_joined'; room: RoomRef; participant: ParticipantRef }
  /** `quality`: its call, when its SDK sent quality reports. */
  | { event: 'participant_left'; room: RoomRef; participant: ParticipantRef; reason: LeaveReason; quality?: CallQualitySummary }
  | { event: 'track_published'; room: RoomRef; participant: ParticipantRef; track: TrackRef }
  | { event: 'track_unpublished'; room: RoomRef; participant: ParticipantRef; track: TrackRef }
  /** A browser or server recording's files are stored (`recording` as `GET .../recordings/{id}` answers it). */
  | { event: 'recording_ready'; room: RecordingRoomRef; recording: RecordingListing }
  /** It could not be finished: `recording.error` says why, `recording.files` what was kept. */
  | { event: 'recording_failed'; room: RecordingRoomRef; recording: RecordingListing };

export type RoomEventListener = (event: RoomEvent) => void;
