import type { ConnectionQuality, LeaveReason, RecordingSummary, Topology, TrackSource } from '@parley/protocol';
import type { BitrateDecision, BitratePolicy } from './adaptive-bitrate.js';
import type { ParleyError } from './errors.js';
import type { CaptureDefaults } from './local-participant.js';
import type { RemoteParticipant } from './participant.js';
import type { ReconnectPolicy } from './reconnect-policy.js';

/** What `Room` tells its users (events, states) and is made with (options). */

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** A track received or gone: a participant's source, or in an `mcu` room the one `mix` (no participant). */
export type TrackEvent = ParticipantTrackEvent | MixTrackEvent;

export interface ParticipantTrackEvent {
  track: MediaStreamTrack;
  participant: RemoteParticipant;
  source: TrackSource;
}

/**
 * The server's mix for this participant (an `mcu` room, or `receive: 'mixed'`): an audio track of
 * everyone else's voices, and a video track of a grid of everyone else (never its own), by `track.kind`.
 */
export interface MixTrackEvent {
  track: MediaStreamTrack;
  participant: undefined;
  source: 'mix';
}

export interface RoomEvents {
  participantJoined: (participant: RemoteParticipant) => void;
  participantLeft: (participant: RemoteParticipant, reason: LeaveReason) => void;
  /** Name, grants or announced track state (mute) changed. */
  participantUpdated: (participant: RemoteParticipant) => void;
  trackSubscribed: (event: TrackEvent) => void;
  trackUnsubscribed: (event: TrackEvent) => void;
  localTrackPublished: (event: { track: MediaStreamTrack; source: TrackSource }) => void;
  localTrackUnpublished: (event: { track: MediaStreamTrack; source: TrackSource }) => void;
  dataReceived: (event: { from: string; payload: string; topic?: string }) => void;
  connectionStateChanged: (state: ConnectionState, previous: ConnectionState) => void;
  /** Who is speaking now, loudest first (identities; SFU rooms). */
  activeSpeakersChanged: (speakers: string[]) => void;
  /** The adaptive bitrate changed the camera's sending profile (640x480@15 low, 1280x720@30 high). */
  adaptiveBitrateChanged: (decision: BitrateDecision) => void;
  /** A participant's connection quality (from loss, RTT, jitter) changed; `participant` is undefined for yourself. */
  connectionQualityChanged: (quality: ConnectionQuality, participant: RemoteParticipant | undefined) => void;
  /** The room moved between a direct call and the SFU; media follows by itself. */
  topologyChanged: (topology: Topology) => void;
  /** The session ended; `error` says why when it was not `disconnect()` (replaced, removed, lost). */
  disconnected: (error?: ParleyError) => void;
  error: (error: ParleyError) => void;
  /** Someone (you included) started a recording, or one changed status (`processing`, `ready`, `failed`). */
  recordingChanged: (recording: RecordingSummary) => void;
  /** Bytes of your recording `id` the server has on disk. */
  recordingProgress: (event: { id: string; acknowledgedBytes: number }) => void;
  /** Your recording's upload gave up (a quota, the grant, the server away past every retry). */
  recordingFailed: (event: { id: string; error: ParleyError }) => void;
}

export interface RoomOptions {
  /** Adaptive bitrate for the camera (on by default): `false` turns it off, `{ policy }` replaces the decision rule. */
  adaptiveBitrate?: false | { policy?: BitratePolicy };
  /**
   * When to retry after the signaling connection drops (default `DefaultReconnectPolicy`: quick
   * retries, then a steady pace, for the server's grace period or a minute, whichever is longer).
   */
  reconnectPolicy?: ReconnectPolicy;
  /** Merged into each RTCPeerConnection's configuration (e.g. `iceTransportPolicy: 'relay'`); the server's ICE servers are added. */
  rtcConfig?: RTCConfiguration;
  capture?: CaptureDefaults;
  /**
   * The call-quality summary the SDK sends the server (loss, RTT, jitter, frames, freezes,
   * bitrates; docs/sdk.md): on by default every 10 s, `false` turns it off.
   */
  qualityReports?: false | { intervalMs?: number };
}
