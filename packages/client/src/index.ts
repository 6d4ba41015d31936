/**
 * Parley browser SDK. Served by every Parley server as an ES module at /sdk/parley.js:
 *   import { Room } from 'https://your-server/sdk/parley.js';
 */
export { Room, type ConnectionState, type ConnectOptions, type RoomEvents, type RoomOptions, type TrackEvent } from './room.js';
export { LocalParticipant, type CaptureDefaults } from './local-participant.js';
export { RemoteParticipant, type RemoteTrack } from './participant.js';
export { ParleyError, type ParleyErrorCode, type ClientErrorCode } from './errors.js';
export { fetchDevToken, type DevTokenRequest } from './dev-token.js';
export type { TrackStats } from './stats.js';
export { ErrorCode, PROTOCOL_VERSION, type TrackSource, type Grants, type LeaveReason } from '@parley/protocol';
