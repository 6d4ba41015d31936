import type { Topology } from '@parley/protocol';
import type { RoomEvent } from '../rooms/room-events.js';
import { describeRecording, type RecordingRecord } from './recording-types.js';

/**
 * The webhook event of a finished recording: `recording_ready` or `recording_failed`, with the
 * recording as the REST API lists it (files with their download URLs, sizes and durations).
 * `topology` only while the room is open: a recording is often ready after its room ended.
 */
export function recordingEvent(record: RecordingRecord, topology: Topology | undefined): RoomEvent {
  return {
    event: record.status === 'ready' ? 'recording_ready' : 'recording_failed',
    room: { name: record.room, ...(topology ? { topology } : {}) },
    recording: describeRecording(record),
  };
}
