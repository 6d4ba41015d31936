// zod/mini: the same schemas at a twentieth of the bundle size, since they ship in the browser SDK.
import * as z from 'zod/mini';
import { errorCodes } from './errors.js';
import { CallQualityReport } from './quality-report.js';
import { VIDEO_CODECS } from './vocabulary.js';

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

/**
 * How media flows in a room right now: directly between two browsers, through the SFU, or through
 * the SFU with the server's mix (`mcu`: each participant receives one audio track, everyone else
 * mixed; docs/topologies.md).
 */
export const Topology = z.enum(['p2p', 'sfu', 'mcu']);
export type Topology = z.infer<typeof Topology>;
/** Whether a room's media goes through the server's SFU (the SFU and MCU topologies do). */
export const viaServer = (topology: Topology): boolean => topology !== 'p2p';
/** What a room is configured for; `auto` is P2P while two participants, SFU from the third. */
export const TopologyPolicy = z.enum(['p2p', 'sfu', 'mcu', 'auto']);
export type TopologyPolicy = z.infer<typeof TopologyPolicy>;
/**
 * What a participant receives while the room's media goes through the SFU: each other
 * participant's tracks (`tracks`, the default), or the server's mix of everyone else's voices as
 * one audio track beside the others' video (`mixed`, for a weak device or network in a room that
 * is not `mcu`; an `mcu` room mixes for everyone). In a direct (P2P) call it changes nothing.
 */
export const ReceiveMode = z.enum(['tracks', 'mixed']);
export type ReceiveMode = z.infer<typeof ReceiveMode>;
export const VideoCodec = z.enum(VIDEO_CODECS);
export type VideoCodec = z.infer<typeof VideoCodec>;
export const ConnectionQuality = z.enum(['excellent', 'good', 'poor', 'lost']);
export type ConnectionQuality = z.infer<typeof ConnectionQuality>;
export const VideoQuality = z.enum(['low', 'medium', 'high']);
export type VideoQuality = z.infer<typeof VideoQuality>;
/** Room settings a token may carry; applied by whoever creates the room (the first to join). */
export const RoomConfig = z.object({
  topology: z.optional(TopologyPolicy),
  /** Preference order for SFU video; every receiver gets a codec it decodes. */
  videoCodecs: z.optional(z.array(VideoCodec).check(z.minLength(1), z.maxLength(4))),
});
export type RoomConfig = z.infer<typeof RoomConfig>;
const TrackId = z.string().check(z.minLength(1), z.maxLength(64));
const Sdp = z.string().check(z.maxLength(60_000));

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
  /** The `sessionId` of a membership whose connection dropped: resume it instead of joining anew. */
  resume: z.optional(z.string().check(z.maxLength(64))),
  /** What this browser decodes, so the SFU forwards only codecs it can play. */
  capabilities: z.optional(z.object({ videoCodecs: z.array(VideoCodec).check(z.maxLength(8)) })),
  /** Preferred TURN region (e.g. from the app's geo guess); unknown regions get the server's default. */
  region: z.optional(z.string().check(z.maxLength(64))),
  /**
   * Sources already captured when joining (a publisher's token only): the others' participantJoined
   * lists them, so an app shows a camera that is on as connecting, not as off, until its video arrives.
   */
  tracks: z.optional(z.array(TrackInfo).check(z.maxLength(4))),
  /** `mixed`: receive the others' voices as the server's one mix (`ReceiveMode`); default `tracks`. */
  receive: z.optional(ReceiveMode),
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
/**
 * SFU: publish one track on its own connection; the reply carries the SFU's answer. `cid`: the
 * client's name for this publication. The same request sent again with the same `cid` (its reply
 * was lost with a dropped connection) replaces what the first one published, if it did, rather
 * than publishing the track twice.
 */
export const PublishTrackRequest = z.object({
  ...base,
  type: z.literal('publishTrack'),
  source: TrackSource,
  sdp: Sdp,
  cid: z.optional(z.string().check(z.minLength(1), z.maxLength(64), z.regex(/^[A-Za-z0-9_-]+$/))),
});
export const UnpublishTrackRequest = z.object({ ...base, type: z.literal('unpublishTrack'), trackId: TrackId });
/**
 * SFU: the number of a `subscriberOffer` (`offerId`), from 1, increasing with each offer the SFU
 * makes to one participant; a re-sent offer keeps its number.
 */
export const OfferId = z.number().check(z.int(), z.positive());
/**
 * SFU: the answer to the latest `subscriberOffer`, `offerId` saying which (absent: whichever is
 * waiting). An answer to any other offer, or to one already answered, is refused with
 * `STALE_ANSWER` and changes nothing.
 */
export const SubscriberAnswerRequest = z.object({ ...base, type: z.literal('subscriberAnswer'), sdp: Sdp, offerId: z.optional(OfferId) });
/** The sender's own connection quality (from its loss, RTT and jitter), shared with the room. */
export const SetConnectionQualityRequest = z.object({ ...base, type: z.literal('setConnectionQuality'), quality: ConnectionQuality });
/** The sender's call-quality summary for the last few seconds (analytics; see quality-report.ts). */
export const QualityReportRequest = z.object({ ...base, type: z.literal('qualityReport'), report: CallQualityReport });
/** SFU: the receiving connection failed on the client; the SFU offers a fresh one with every track. */
export const ResubscribeRequest = z.object({ ...base, type: z.literal('resubscribe') });
export const SetVideoQualityRequest = z.object({ ...base, type: z.literal('setVideoQuality'), trackId: TrackId, quality: VideoQuality });
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
  PublishTrackRequest,
  UnpublishTrackRequest,
  SubscriberAnswerRequest,
  SetVideoQualityRequest,
  SetConnectionQualityRequest,
  QualityReportRequest,
  ResubscribeRequest,
  RefreshIceServersRequest,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageType = ClientMessage['type'];
const everyClientType = {
  join: true,
  signal: true,
  setTrackMuted: true,
  sendData: true,
  removeParticipant: true,
  ping: true,
  leave: true,
  publishTrack: true,
  unpublishTrack: true,
  subscriberAnswer: true,
  setVideoQuality: true,
  setConnectionQuality: true,
  qualityReport: true,
  resubscribe: true,
  refreshIceServers: true,
} satisfies Record<ClientMessageType, true>;
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
  /** Present this in `join.resume` after a dropped connection to keep this membership. */
  sessionId: z.string(),
  /** True when this join resumed an existing membership: nobody saw you leave. */
  resumed: z.boolean(),
  /** Seconds the server keeps a dropped membership resumable. */
  reconnectGraceSeconds: z.number(),
});
export const IceServersResponse = z.object({
  ...reply,
  type: z.literal('iceServers'),
  iceServers: z.array(IceServer),
  iceTtlSeconds: z.optional(z.number().check(z.positive())),
});
export const AckResponse = z.object({ ...reply, type: z.literal('ack') });
export const TrackPublishedResponse = z.object({ ...reply, type: z.literal('trackPublished'), trackId: TrackId, sdp: Sdp, codec: z.string() });
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

/**
 * What a received track carries: a participant's source, or `mix` (MCU rooms: everyone else's
 * voices mixed for this receiver; its `participant` is the receiver's own identity).
 */
export const ReceivedTrackSource = z.enum([...TrackSource.options, 'mix']);
export type ReceivedTrackSource = z.infer<typeof ReceivedTrackSource>;
export const SubscribedTrack = z.object({ mid: z.string(), trackId: TrackId, participant: Identity, source: ReceivedTrackSource, kind: z.enum(['audio', 'video']) });
export type SubscribedTrack = z.infer<typeof SubscribedTrack>;
/** SFU: everything this participant receives, as one offer; answer with `subscriberAnswer` and the same `offerId`. */
export const SubscriberOfferEvent = z.object({ ...event, type: z.literal('subscriberOffer'), sdp: Sdp, tracks: z.array(SubscribedTrack), offerId: OfferId });
export const ActiveSpeakersEvent = z.object({ ...event, type: z.literal('activeSpeakers'), speakers: z.array(Identity) });
/** SFU dynacast: only these simulcast layers of a published track have receivers; pause the others. */
export const LayersWantedEvent = z.object({ ...event, type: z.literal('layersWanted'), trackId: TrackId, rids: z.array(z.string()) });
/** SFU: `to` now receives your track `trackId` through the SFU (its first packet went out). */
export const TrackDeliveredEvent = z.object({ ...event, type: z.literal('trackDelivered'), trackId: TrackId, to: Identity });
/** The room moved between P2P and the SFU (auto policy); media follows without rejoining. */
export const TopologyChangedEvent = z.object({ ...event, type: z.literal('topologyChanged'), topology: Topology });
export const ConnectionQualityEvent = z.object({ ...event, type: z.literal('connectionQuality'), identity: Identity, quality: ConnectionQuality });
/** The SFU lost this room's media (a worker restarted): publish and subscribe again. */
export const MediaResetEvent = z.object({ ...event, type: z.literal('mediaReset') });

export const RecordingMode = z.enum(['browser', 'tracks', 'composite']);
export type RecordingMode = z.infer<typeof RecordingMode>;
export const RecordingStatus = z.enum(['recording', 'processing', 'ready', 'failed']);
export type RecordingStatus = z.infer<typeof RecordingStatus>;
export const RecordingSummary = z.object({ id: z.string().check(z.maxLength(64)), mode: RecordingMode, status: RecordingStatus, startedBy: Identity });
export type RecordingSummary = z.infer<typeof RecordingSummary>;
/** A recording in this room started or changed status (consent: everyone is told, and newcomers on joining). */
export const RecordingChangedEvent = z.object({ ...event, type: z.literal('recordingChanged'), recording: RecordingSummary });

export const ServerMessage = z.discriminatedUnion('type', [
  JoinedResponse,
  IceServersResponse,
  AckResponse,
  TrackPublishedResponse,
  SubscriberOfferEvent,
  ActiveSpeakersEvent,
  LayersWantedEvent,
  TopologyChangedEvent,
  MediaResetEvent,
  RecordingChangedEvent,
  ConnectionQualityEvent,
  TrackDeliveredEvent,
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
/** A server message as the server builds it: the version is stamped once, when it is sent (`versioned`). */
export type ServerMessageBody<T extends ServerMessage['type'] = ServerMessage['type']> = T extends ServerMessage['type'] ? Omit<ServerMessageOf<T>, 'v'> : never;

/** The message as it goes on the wire: the body with this protocol's version. */
export function versioned(body: ServerMessageBody): ServerMessage {
  return { v: PROTOCOL_VERSION, ...body } as ServerMessage;
}
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;
/** A client message as the SDK writes it: version and id are filled in by the signal client. */
export type ClientRequest<T extends ClientMessageType = ClientMessageType> = T extends ClientMessageType
  ? Omit<ClientMessageOf<T>, 'v' | 'id'>
  : never;
