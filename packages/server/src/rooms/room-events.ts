import type { LeaveReason, Topology, TrackSource } from '@parley/protocol';

/**
 * What happened to a room, in the order it happened: the feed webhooks are sent from (and, with
 * a cluster, what other nodes will hear). Names and shapes are the webhook payload's
 * (docs/webhooks.md), so they are part of Parley's public API: add, never rename.
 */
export type RoomEventName = RoomEvent['event'];
export const ROOM_EVENT_NAMES = ['room_started', 'room_finished', 'participant_joined', 'participant_left', 'track_published', 'track_unpublished'] as const satisfies readonly RoomEventName[];

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

export type RoomEvent =
  | { event: 'room_started'; room: RoomRef }
  | { event: 'room_finished'; room: RoomRef }
  | { event: 'participant_joined'; room: RoomRef; participant: ParticipantRef }
  | { event: 'participant_left'; room: RoomRef; participant: ParticipantRef; reason: LeaveReason }
  | { event: 'track_published'; room: RoomRef; participant: ParticipantRef; track: TrackRef }
  | { event: 'track_unpublished'; room: RoomRef; participant: ParticipantRef; track: TrackRef };

export type RoomEventListener = (event: RoomEvent) => void;
