/**
 * Parley browser SDK. Served by every Parley server as an ES module at /sdk/parley.js:
 *   import { Room } from 'https://your-server/sdk/parley.js';
 */
export { DefaultBitratePolicy, videoProfiles, type BitratePolicy, type BitrateDecision, type NetworkSample, type VideoProfile } from './adaptive-bitrate.js';
export { classifyConnection } from './connection-quality.js';
export { DefaultReconnectPolicy, type ReconnectContext, type ReconnectPolicy } from './reconnect-policy.js';
export { Room, type ConnectionState, type ConnectOptions, type RoomEvents, type RoomOptions, type TrackEvent, type ParticipantTrackEvent, type MixTrackEvent } from './room.js';
export type { CandidateDebugState, ConnectionDebugState, DebugStateOptions, LinkDebugState, PublicationDebugState, RoomDebugState, RtpDebugState, SfuDebugState } from './debug-state.js';
export { listMediaDevices, setAudioOutput, type MediaDevices } from './devices.js';
export { LocalParticipant, type CaptureDefaults } from './local-participant.js';
export { RemoteParticipant, type RemoteTrack } from './participant.js';
export { chooseMimeType, RECORDING_MIME_TYPES } from './recording/mime-type.js';
export type { RecordingFileListing, RecordingListing } from './recording/recordings-api.js';
export type { ResumedRecording } from './recording/upload-resume.js';
export type { BrowserRecordingOptions, RecordingOptions, ServerRecordingOptions, StartedBrowserRecording, StartedRecording, StartedServerRecording } from './recording/room-recordings.js';
export { ParleyError, type ParleyErrorCode, type ClientErrorCode } from './errors.js';
export { setLogLevel, type LogLevel } from './log.js';
export { fetchDevToken, type DevTokenRequest } from './dev-token.js';
export {
  classifyNetworkQuality,
  detectNetworkQuality,
  type NetworkMeasurement,
  type NetworkQuality,
  type NetworkQualityOptions,
  type NetworkQualityResult,
} from './network-quality.js';
export type { TrackStats } from './stats.js';
export type { Timeline, TimelineMark, TimelineStep } from './timeline.js';
export {
  ErrorCode,
  PROTOCOL_VERSION,
  hueFor,
  initialsOf,
  type TrackSource,
  type Grants,
  type LeaveReason,
  type RoomConfig,
  type Topology,
  type VideoCodec,
  type VideoQuality,
  type ConnectionQuality,
  type RecordingSummary,
  type RecordingMode,
  type RecordingStatus,
} from '@parley/protocol';
