// zod/mini: the same schemas at a twentieth of the bundle size, since they ship in the browser SDK.
import * as z from 'zod/mini';
import { errorCodes } from './errors.js';

/** Bumped on any incompatible change of a message below. */
export const PROTOCOL_VERSION = 1;

/** Frames larger than this are refused (MESSAGE_TOO_LARGE, close 1009). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export const RoomName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/, 'room names are 1-128 of A-Z a-z 0-9 . _ ~ - and start with a letter or digit'));
export const Identity = z
  .string()
  .check(z.minLength(1), z.maxLength(128), z.regex(/^[^\p{C}]+$/u, 'identities must not contain control characters'));
export const DisplayName = z.string().check(z.maxLength(128), z.regex(/^[^\p{C}]*$/u, 'names must not contain control characters'));
const RequestId = z.string().check(z.minLength(1), z.maxLength(64));

export const TrackSource = z.enum(['camera', 'microphone', 'screen', 'screenAudio']);
export type TrackSource = z.infer<typeof TrackSource>;

export const Grants = z.object({
  canPublish: z.boolean(),
  canSubscribe: z.boolean(),
  canPublishData: z.boolean(),
  roomAdmin: z.boolean(),
  canRecord: z.boolean(),
});
export type Grants = z.infer<typeof Grants>;
export const grantNames = Object.keys(Grants.shape) as (keyof Grants)[];

export const TrackInfo = z.object({ source: TrackSource, muted: z.boolean() });
export type TrackInfo = z.infer<typeof TrackInfo>;

export const ParticipantInfo = z.object({
  identity: Identity,
  name: DisplayName,
  joinedAt: z.number(),
  grants: Grants,
  tracks: z.array(TrackInfo),
});
export type ParticipantInfo = z.infer<typeof ParticipantInfo>;

export const IceServer = z.object({
  urls: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  username: z.optional(z.string()),
  credential: z.optional(z.string()),
});
export type IceServer = z.infer<typeof IceServer>;

export const Topology = z.enum(['p2p']);
export type Topology = z.infer<typeof Topology>;

export const SessionDescription = z.object({
  type: z.enum(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: z.string().check(z.maxLength(60_000)),
});
export const IceCandidate = z.object({
  candidate: z.string().check(z.maxLength(1024)),
  sdpMid: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  sdpMLineIndex: z.optional(z.nullable(z.number().check(z.int(), z.minimum(0), z.maximum(1024)))),
  usernameFragment: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
});
/** What one peer sends another through the server: an SDP, a trickled candidate, or both. */
export const SignalPayload = z
  .object({
    description: z.optional(SessionDescription),
    candidate: z.optional(z.nullable(IceCandidate)),
    /** Which source each sending transceiver (by mid) carries, so the receiver can label tracks. */
    trackSources: z.optional(z.record(z.string().check(z.maxLength(64)), TrackSource)),
  })
  .check(z.refine((p) => p.description !== undefined || p.candidate !== undefined, 'a signal carries a description or a candidate'));
export type SignalPayload = z.infer<typeof SignalPayload>;

const base = { v: z.literal(PROTOCOL_VERSION), id: RequestId };

// ---- client -> server -------------------------------------------------------------------------

export const JoinRequest = z.object({
  ...base,
  type: z.literal('join'),
  token: z.optional(z.string().check(z.maxLength(8192))),
  /** The room the client means to join; refused when the token names another. */
  room: z.optional(RoomName),
  sdk: z.optional(z.string().check(z.maxLength(64))),
  /** Preferred TURN region (e.g. from the app's geo guess); unknown regions get the server's default. */
  region: z.optional(z.string().check(z.maxLength(64))),
});
export const SignalRequest = z.object({ ...base, type: z.literal('signal'), to: Identity, payload: SignalPayload });
export const SetTrackMutedRequest = z.object({ ...base, type: z.literal('setTrackMuted'), source: TrackSource, muted: z.boolean() });
export const SendDataRequest = z.object({
  ...base,
  type: z.literal('sendData'),
  payload: z.string().check(z.maxLength(16 * 1024)),
  topic: z.optional(z.string().check(z.maxLength(128))),
  /** Only these identities; everyone else in the room when absent. */
  to: z.optional(z.array(Identity).check(z.maxLength(64))),
});
export const RemoveParticipantRequest = z.object({ ...base, type: z.literal('removeParticipant'), identity: Identity });
export const PingRequest = z.object({ ...base, type: z.literal('ping') });
export const LeaveRequest = z.object({ ...base, type: z.literal('leave') });
/** Fresh TURN credentials before the current ones expire (the SDK asks at ~80% of `iceTtlSeconds`). */
export const RefreshIceServersRequest = z.object({ ...base, type: z.literal('refreshIceServers'), region: z.optional(z.string().check(z.maxLength(64))) });

export const ClientMessage = z.discriminatedUnion('type', [
  JoinRequest,
  SignalRequest,
  SetTrackMutedRequest,
  SendDataRequest,
  RemoveParticipantRequest,
  PingRequest,
  LeaveRequest,
  RefreshIceServersRequest,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageType = ClientMessage['type'];
const everyClientType = { join: true, signal: true, setTrackMuted: true, sendData: true, removeParticipant: true, ping: true, leave: true, refreshIceServers: true } satisfies Record<ClientMessageType, true>;
export const clientMessageTypes: ReadonlySet<string> = new Set(Object.keys(everyClientType));

// ---- server -> client -------------------------------------------------------------------------

const reply = { v: z.literal(PROTOCOL_VERSION), replyTo: RequestId };
const event = { v: z.literal(PROTOCOL_VERSION) };

export const RoomInfo = z.object({ name: RoomName, topology: Topology, maxParticipants: z.number().check(z.int(), z.positive()) });
export type RoomInfo = z.infer<typeof RoomInfo>;

export const JoinedResponse = z.object({
  ...reply,
  type: z.literal('joined'),
  room: RoomInfo,
  participant: ParticipantInfo,
  /** Everyone else already in the room. */
  participants: z.array(ParticipantInfo),
  iceServers: z.array(IceServer),
  /** Seconds the TURN credentials in `iceServers` stay valid; absent when there are none. */
  iceTtlSeconds: z.optional(z.number().check(z.positive())),
  serverVersion: z.string(),
});
export const IceServersResponse = z.object({
  ...reply,
  type: z.literal('iceServers'),
  iceServers: z.array(IceServer),
  iceTtlSeconds: z.optional(z.number().check(z.positive())),
});
export const AckResponse = z.object({ ...reply, type: z.literal('ack') });
export const PongResponse = z.object({ ...reply, type: z.literal('pong'), time: z.number() });
export const ErrorMessage = z.object({
  v: z.literal(PROTOCOL_VERSION),
  type: z.literal('error'),
  /** The request this answers; absent for errors about the connection itself. */
  replyTo: z.optional(RequestId),
  code: z.enum(errorCodes),
  message: z.string(),
  /** The server closes the socket right after a fatal error. */
  fatal: z.boolean(),
});
export const ParticipantJoinedEvent = z.object({ ...event, type: z.literal('participantJoined'), participant: ParticipantInfo });
export const ParticipantUpdatedEvent = z.object({ ...event, type: z.literal('participantUpdated'), participant: ParticipantInfo });
export const LeaveReason = z.enum(['left', 'disconnected', 'replaced', 'removed']);
export type LeaveReason = z.infer<typeof LeaveReason>;
export const ParticipantLeftEvent = z.object({ ...event, type: z.literal('participantLeft'), identity: Identity, reason: LeaveReason });
export const SignalEvent = z.object({ ...event, type: z.literal('signal'), from: Identity, payload: SignalPayload });
export const DataEvent = z.object({
  ...event,
  type: z.literal('data'),
  from: Identity,
  payload: z.string(),
  topic: z.optional(z.string()),
});

export const ServerMessage = z.discriminatedUnion('type', [
  JoinedResponse,
  IceServersResponse,
  AckResponse,
  PongResponse,
  ErrorMessage,
  ParticipantJoinedEvent,
  ParticipantUpdatedEvent,
  ParticipantLeftEvent,
  SignalEvent,
  DataEvent,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;
/** A client message as the SDK writes it: version and id are filled in by the signal client. */
export type ClientRequest<T extends ClientMessageType = ClientMessageType> = T extends ClientMessageType
  ? Omit<ClientMessageOf<T>, 'v' | 'id'>
  : never;
