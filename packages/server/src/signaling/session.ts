// Why this file is ~550 lines: one connection's protocol, read top to bottom: frame limits, the
// join, then one small handler per client message type in one table (`handlers`). The handlers
// read the session's own state (its joined room, rate buckets, request ids); moving them out would
// pass that state around without making any of them shorter.
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import {
  CloseCode,
  ErrorCode,
  parseClientMessage,
  versioned,
  type ClientMessage,
  type ClientMessageOf,
  type IceServer,
  type ServerMessageBody,
  type Topology,
  viaServer,
} from '@parley/protocol';
import { verifyToken } from '../auth/token.js';
import type { ServerConfig } from '../config/config.js';
import { iceServersFor } from '../ice/ice-servers.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { Logger } from '../logger.js';
import { Participant, type EncodedMessage, type ParticipantLink } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaCoordinator } from '../sfu/media-coordinator.js';
import { RecentIds } from './recent-ids.js';
import { sdpSendsMedia } from './sdp-policy.js';
import type { SfuService } from '../sfu/sfu-service.js';
import { isSfuFailure } from '../sfu/sfu-worker-error.js';
import type { ParleyMetrics } from '../metrics/metrics.js';
import { RoomRelay, relayHeader } from '../cluster/room-relay.js';
import { SIGNALING_PATH } from './paths.js';

export interface SessionContext {
  config: ServerConfig;
  rooms: RoomRegistry;
  logger: Logger;
  serverVersion: string;
  media: MediaCoordinator;
  metrics: ParleyMetrics;
  /** The built-in TURN server's URLs and the secret its credentials use, when it runs. */
  builtInTurn?: { urls: readonly string[]; secret: string } | undefined;
  /** Cluster mode (Redis): where rooms live, and how to carry a join to another node. */
  routing?: ClusterRouting | undefined;
  /** While this node drains (`RunningServer.drain`): when the drain's time is up (Date.now() ms). */
  drainingUntil?: () => number | undefined;
  /** `recordingChanged` for the recordings running in a room, told to whoever joins it (consent). */
  recordingEvents?: (room: string) => ServerMessageBody[];
}

export interface ClusterRouting {
  nodeId: string;
  /** Signs the relay header the room's node trusts (cluster/room-relay.ts). */
  relaySecret: string;
  placeRoom(room: string): Promise<{ node: { id: string; url: string; startedAt?: number }; topology?: Topology }>;
  /** A node this one could not reach: forgotten at once if it is certainly dead (see NodeAgent.suspect); true when it was. */
  suspect(node: { id: string; url: string; startedAt?: number }): Promise<boolean>;
}

export interface SessionOptions {
  /** The client's address (after a trusted proxy's or relaying node's word). */
  ip: string;
  /** Set when another node carried this connection here: it is served here, never carried on. */
  relayedBy?: string | undefined;
}

type Joined = { participant: Participant; room: Room };
/** A handler's outcome: an error, a specific reply, or nothing (the request is acknowledged). */
type Outcome = ErrorReply | ServerMessageBody | void;
type Handler<T extends ClientMessage['type']> = (session: SignalingSession, message: ClientMessageOf<T>, joined: Joined) => Outcome | Promise<Outcome>;
type ErrorReply = { code: ErrorCode; message: string };

/** Tracks one participant may publish through the SFU at once (camera, mic, screen, screen audio, and spares). */
const MAX_PUBLISHED_TRACKS = 8;

const REMEMBERED_REQUEST_IDS = 1024;
/** The SDK reports every 10 s by default; faster than every 2 s (after a burst of 3) is refused. */
const QUALITY_REPORTS_PER_SECOND = 0.5;

/**
 * One signaling WebSocket: validates every frame, enforces per-connection limits, and turns
 * requests into room operations. Frames are handled strictly in arrival order.
 */
export class SignalingSession implements ParticipantLink {
  private joined: Joined | undefined;
  /** The TURN region hint from join, reused when credentials are refreshed. */
  private region: string | undefined;
  private joining = false;
  private closed = false;
  private readonly usedIds = new RecentIds(REMEMBERED_REQUEST_IDS);
  private readonly messageBucket: TokenBucket;
  private readonly floodStrikes: TokenBucket;
  private readonly mediaOperations: TokenBucket;
  private readonly qualityReports = new TokenBucket(3, QUALITY_REPORTS_PER_SECOND);
  private queue: Promise<void> = Promise.resolve();
  /** This connection's log: `conn` and `ip`, then `room` and `participant` once joined. */
  private connectionLog: Logger;
  /** The id of the request being handled (frames are handled one at a time), for `req` on log lines. */
  private currentRequest: string | undefined;

  readonly ip: string;
  private readonly relayedBy: string | undefined;
  /** Set once this connection's join was carried to the room's node: frames go there from then on. */
  private relay: RoomRelay | undefined;
  /** This connection's join was served again after the node it was carried to turned out dead. */
  private replacedDeadNode = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly ctx: SessionContext,
    options: SessionOptions,
  ) {
    const { ip } = options;
    this.ip = ip;
    this.relayedBy = options.relayedBy;
    const { limits } = ctx.config;
    this.messageBucket = new TokenBucket(limits.messageBurst, limits.messagesPerSecond);
    this.floodStrikes = new TokenBucket(limits.floodStrikes, 1);
    this.mediaOperations = new TokenBucket(limits.mediaOperationBurst, limits.mediaOperationsPerSecond);
    this.connectionLog = ctx.logger.child({ conn: `CN_${randomUUID().replaceAll('-', '').slice(0, 12)}`, ip, ...(options.relayedBy ? { relayedBy: options.relayedBy } : {}) });
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => this.log.debug('socket error', { error }));
  }

  private get log(): Logger {
    return this.currentRequest === undefined ? this.connectionLog : this.connectionLog.child({ req: this.currentRequest });
  }

  get identity(): string | undefined {
    return this.joined?.participant.identity;
  }

  send(message: ServerMessageBody): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(versioned(message)));
  }

  sendEncoded(message: EncodedMessage): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    // A text frame of the shared bytes: `ws` frames a Buffer without copying it (no mask server-side, no deflate).
    this.socket.send(message.bytes, { binary: false });
  }

  terminate(code: ErrorCode, message: string, closeCode: number): void {
    this.joined = undefined;
    this.fail(code, message, closeCode);
  }

  drop(): void {
    this.socket.terminate();
  }

  /** Sends a fatal error and closes; used for auth failures, floods and server-side decisions. */
  fail(code: ErrorCode, message: string, closeCode: number, replyTo?: string): void {
    if (this.closed) return;
    this.sendError({ code, message }, replyTo, true);
    this.closed = true;
    this.socket.close(closeCode, message.slice(0, 120));
  }

  private tooManyMediaOperations(): ErrorReply {
    this.ctx.metrics.rateLimitRefusals.inc({ limit: 'media_operation' });
    const { mediaOperationBurst, mediaOperationsPerSecond } = this.ctx.config.limits;
    return { code: ErrorCode.RATE_LIMITED, message: `too many publishTrack/resubscribe requests: ${mediaOperationBurst} at once, then ${mediaOperationsPerSecond} per second` };
  }

  private sendError(error: ErrorReply, replyTo: string | undefined, fatal = false): void {
    this.ctx.metrics.signalingErrors.inc({ code: error.code });
    this.send({ type: 'error', ...(replyTo === undefined ? {} : { replyTo }), code: error.code, message: error.message, fatal });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const size = Array.isArray(data) ? data.reduce((sum, chunk) => sum + chunk.length, 0) : data.byteLength;
    const { limits } = this.ctx.config;
    if (size > limits.maxMessageBytes) {
      this.fail(ErrorCode.MESSAGE_TOO_LARGE, `messages are limited to ${limits.maxMessageBytes} bytes`, CloseCode.MESSAGE_TOO_BIG);
      return;
    }
    if (!this.messageBucket.take()) {
      this.ctx.metrics.rateLimitRefusals.inc({ limit: 'message' });
      if (!this.floodStrikes.take()) {
        this.log.warn('closing flooding connection');
        this.fail(ErrorCode.RATE_LIMITED, 'too many messages: connection closed', CloseCode.POLICY_VIOLATION);
      } else {
        this.sendError({ code: ErrorCode.RATE_LIMITED, message: `too many messages (limit ${limits.messagesPerSecond}/s): message dropped` }, undefined);
      }
      return;
    }
    if (isBinary) {
      this.sendError({ code: ErrorCode.INVALID_MESSAGE, message: 'only text frames carrying JSON are accepted' }, undefined);
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    this.queue = this.queue
      .then(() => this.handleText(text))
      .catch((error: unknown) => {
        this.log.error('unexpected error while handling a message', { error });
        this.sendError({ code: ErrorCode.INTERNAL, message: 'internal server error' }, undefined);
      })
      .finally(() => {
        this.currentRequest = undefined;
      });
  }

  private async handleText(text: string): Promise<void> {
    if (this.closed) return;
    if (this.relay) return this.relay.send(text);
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.ctx.metrics.signalingMessages.inc({ type: 'invalid' });
      this.sendError({ code: parsed.code, message: parsed.reason }, parsed.id);
      return;
    }
    const message = parsed.message;
    this.currentRequest = message.id;
    this.ctx.metrics.signalingMessages.inc({ type: message.type });
    if (!this.usedIds.add(message.id)) {
      this.sendError({ code: ErrorCode.DUPLICATE_ID, message: `request id ${message.id} was already used on this connection` }, message.id);
      return;
    }
    if (message.type === 'join') return this.handleJoin(message, text);
    if (message.type === 'ping') return this.send({ type: 'pong', replyTo: message.id, time: Date.now() });
    if (!this.joined) {
      this.sendError({ code: ErrorCode.NOT_JOINED, message: `${message.type} needs a joined room: send join first` }, message.id);
      return;
    }
    if (message.type === 'refreshIceServers') {
      this.region = message.region ?? this.region;
      return this.send({ type: 'iceServers', replyTo: message.id, ...this.iceServers(this.joined.participant.identity) });
    }
    const handler = SignalingSession.handlers[message.type] as Handler<typeof message.type>;
    const outcome = await handler(this, message, this.joined);
    if (outcome && 'code' in outcome) this.sendError(outcome, message.id);
    else if (outcome) this.send(outcome);
    else if (!this.closed) this.send({ type: 'ack', replyTo: message.id });
  }

  private async handleJoin(message: ClientMessageOf<'join'>, frame: string): Promise<void> {
    if (this.joined || this.joining) {
      this.sendError({ code: ErrorCode.ALREADY_JOINED, message: 'this connection has joined a room already' }, message.id);
      return;
    }
    this.joining = true;
    const check = await verifyToken(message.token, this.ctx.config.apiKeys);
    if (this.closed) return;
    if (!check.ok) return this.fail(check.code, check.reason, CloseCode.AUTH_FAILED, message.id);
    const { claims } = check;
    if (message.room !== undefined && message.room !== claims.room) {
      return this.fail(ErrorCode.TOKEN_WRONG_ROOM, `the token is for room ${claims.room}, not ${message.room}`, CloseCode.AUTH_FAILED, message.id);
    }
    let resumeTopology: Topology | undefined;
    if (this.ctx.routing) {
      const routed = await this.servedElsewhere(this.ctx.routing, claims.room, message, frame);
      if (routed.elsewhere) return;
      resumeTopology = routed.topology;
    }
    if (this.closed) return;
    const room = this.ctx.rooms.getOrCreate(claims.room, claims.roomConfig, resumeTopology);
    const existing = room.get(claims.sub);
    if (message.resume !== undefined && existing && existing.sessionId === message.resume) return this.resume(message.id, room, existing);
    const participant = new Participant({ identity: claims.sub, name: claims.name ?? claims.sub, grants: claims.grants, link: this, decodes: message.capabilities?.videoCodecs, receive: message.receive });
    if (claims.grants.canPublish) for (const { source, muted } of message.tracks ?? []) participant.setTrackMuted(source, muted);
    const admission = room.admit(participant);
    if (!admission.ok) {
      this.ctx.rooms.releaseIfEmpty(room);
      return this.fail(admission.code, admission.message, CloseCode.ROOM_FULL, message.id);
    }
    this.joined = { participant, room };
    this.joining = false;
    this.region = message.region;
    this.connectionLog = this.connectionLog.child({ room: room.name, participant: participant.identity });
    this.log.info('participant joined', { topology: room.topology });
    this.sendJoined(message.id, room, participant, false);
    // Later requests of this connection (publishTrack) wait for this: the media side is ready first.
    try {
      await this.ctx.media.participantJoined(room, participant);
    } catch (error) {
      this.log.error('media setup failed for a joining participant', { error });
    }
  }

  /**
   * Cluster mode: whether the room lives on another node, in which case this connection is now
   * carried there (or failed with ROOM_UNAVAILABLE when that cannot be done, which the SDK
   * retries). A connection another node carried here is served here or refused, never carried
   * on: a placement that moved meanwhile must not bounce it between nodes.
   */
  private async servedElsewhere(cluster: ClusterRouting, room: string, message: ClientMessageOf<'join'>, frame: string): Promise<{ elsewhere: boolean; topology?: Topology }> {
    const requestId = message.id;
    let node: { id: string; url: string; startedAt?: number };
    let topology: Topology | undefined;
    try {
      ({ node, topology } = await cluster.placeRoom(room));
    } catch (error) {
      this.log.warn('room placement failed', { error });
      this.fail(ErrorCode.ROOM_UNAVAILABLE, 'the cluster cannot place this room now: retry in a moment', CloseCode.GOING_AWAY, requestId);
      return { elsewhere: true };
    }
    if (node.id === cluster.nodeId) return { elsewhere: false, ...(topology ? { topology } : {}) };
    if (this.relayedBy !== undefined || this.closed) {
      this.fail(ErrorCode.ROOM_UNAVAILABLE, `room ${room} moved to another node: retry`, CloseCode.GOING_AWAY, requestId);
      return { elsewhere: true };
    }
    this.log.info('join carried to the room’s node', { to: node.id });
    this.relay = new RoomRelay({
      target: `${node.url.replace(/^http/, 'ws').replace(/\/$/, '')}${SIGNALING_PATH}`,
      header: relayHeader(cluster.relaySecret, cluster.nodeId, this.ip),
      firstFrame: frame,
      toClient: (data) => {
        if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
      },
      onClose: (code, reason, reached) => {
        // The room's node vanished (never reached, or the connection dropped without a close):
        // if it is dead, have it forgotten before this client retries, so the retry finds the
        // room placed on a live node instead of waiting for the dead one's record to expire.
        const vanished = !reached || code === 1005 || code === 1006;
        void (vanished ? cluster.suspect(node) : Promise.resolve(false)).then((removed) => {
          if (!reached) {
            // The join never got there and the node is certainly gone (removed just now): the
            // room is placed again on a live node, so serve this join now rather than have the
            // client retry. Once: a second dead node in a row is the client's retry to wait out.
            if (removed && !this.closed && !this.replacedDeadNode) {
              this.replacedDeadNode = true;
              this.relay = undefined;
              return void this.handleJoin(message, frame);
            }
            return this.fail(ErrorCode.ROOM_UNAVAILABLE, `the node of room ${room} cannot be reached now: retry`, CloseCode.GOING_AWAY, requestId);
          }
          this.closed = true;
          this.socket.close(vanished ? CloseCode.GOING_AWAY : code, reason.slice(0, 120));
        });
      },
    });
    this.joining = false;
    return { elsewhere: true };
  }

  /**
   * Takes over a membership whose connection dropped (or is dying unnoticed): same participant,
   * same tracks, nobody sees a leave or a join. The media keeps flowing meanwhile: it never went
   * through this socket.
   */
  private async resume(requestId: string, room: Room, participant: Participant): Promise<void> {
    const previous = participant.link;
    participant.resume(this);
    if (previous instanceof SignalingSession && previous !== this) previous.detach();
    this.joined = { participant, room };
    this.joining = false;
    this.connectionLog = this.connectionLog.child({ room: room.name, participant: participant.identity });
    this.log.info('participant resumed');
    this.sendJoined(requestId, room, participant, true);
    await this.ctx.media.participantResumed(room, participant).catch((error: unknown) => {
      this.log.error('media resume failed', { error });
    });
  }

  /** Closes this connection without ending its membership (a newer connection resumed it). */
  detach(): void {
    this.joined = undefined;
    this.closed = true;
    this.socket.close(CloseCode.GOING_AWAY, 'resumed on another connection');
  }

  private sendJoined(replyTo: string, room: Room, participant: Participant, resumed: boolean): void {
    this.ctx.metrics.joins.inc({ kind: resumed ? 'resumed' : 'new' });
    this.send({
      type: 'joined',
      replyTo,
      // The topology the room is about to have with this participant in it.
      room: { ...room.info(), topology: room.desiredTopology() },
      participant: participant.info(),
      participants: room.others(participant.identity).map((p) => p.info()),
      ...this.iceServers(participant.identity),
      serverVersion: this.ctx.serverVersion,
      sessionId: participant.sessionId,
      resumed,
      reconnectGraceSeconds: this.ctx.config.reconnectGraceSeconds,
    });
    // Qualities are broadcast only when they change: tell a newcomer (or a resumed connection,
    // which may have missed changes) the ones already known, so their tiles show them at once.
    for (const other of room.others(participant.identity)) {
      if (other.connectionQuality) this.send({ type: 'connectionQuality', identity: other.identity, quality: other.connectionQuality });
    }
    // Active speakers, too, are announced only when they change. A resumed connection is told
    // even an empty list: it may have missed the change that emptied it.
    const speakers = room.activeSpeakers.filter((identity) => room.get(identity));
    if (viaServer(room.topology) && (speakers.length > 0 || resumed)) this.send({ type: 'activeSpeakers', speakers });
    for (const event of this.ctx.recordingEvents?.(room.name) ?? []) this.send(event);
  }

  /** ICE servers with fresh TURN credentials, and how long those stay valid. */
  private iceServers(identity: string): { iceServers: IceServer[]; iceTtlSeconds?: number } {
    const { ice } = this.ctx.config;
    const builtIn = this.ctx.builtInTurn;
    const iceServers = iceServersFor(identity, ice, Date.now(), { ...(builtIn ? { builtInUrls: builtIn.urls, secret: builtIn.secret } : {}), region: this.region });
    return iceServers.some((server) => server.credential !== undefined) ? { iceServers, iceTtlSeconds: ice.turnCredentialTtlSeconds } : { iceServers };
  }

  /**
   * One handler per client message type, shared by every session (a per-session table would
   * allocate its closures for each connection: ~4 KiB per participant under tsx, measured with a
   * heap snapshot at 2000 joined participants). `session` is the connection the message came on.
   */
  private static readonly handlers: { [T in Exclude<ClientMessage['type'], 'join' | 'ping' | 'refreshIceServers'>]: Handler<T> } = {
    signal: (session, message, { participant, room }) => {
      if (!participant.grants.canPublish && !participant.grants.canSubscribe) return denied('media signaling needs canPublish or canSubscribe');
      const description = message.payload.description;
      if (description && !participant.grants.canPublish && sdpSendsMedia(description.sdp)) {
        return denied('this token cannot publish: offer receive-only media');
      }
      const target = room.get(message.to);
      if (!target || target === participant) return notFound(message.to);
      target.link.send({ type: 'signal', from: participant.identity, payload: message.payload });
    },
    setTrackMuted: (session, message, { participant, room }) => {
      if (!participant.grants.canPublish) return denied('this token cannot publish');
      participant.setTrackMuted(message.source, message.muted);
      room.broadcast({ type: 'participantUpdated', participant: participant.info() }, participant.identity);
    },
    sendData: (session, message, { participant, room }) => {
      if (!participant.grants.canPublishData) return denied('this token cannot publish data');
      const recipients = message.to === undefined ? room.others(participant.identity) : message.to.map((identity) => room.get(identity));
      const missing = message.to?.find((_, index) => recipients[index] === undefined);
      if (missing !== undefined) return notFound(missing);
      const event = { type: 'data', from: participant.identity, payload: message.payload, ...(message.topic === undefined ? {} : { topic: message.topic }) } as const;
      for (const recipient of recipients) if (recipient !== participant) recipient?.link.send(event);
    },
    removeParticipant: (session, message, { participant, room }) => {
      if (!participant.grants.roomAdmin) return denied('removing participants needs roomAdmin');
      const target = room.get(message.identity);
      if (!target) return notFound(message.identity);
      room.remove(target, 'removed');
      target.link.terminate(ErrorCode.REMOVED, `removed from room ${room.name} by ${participant.identity}`, CloseCode.REMOVED);
      void session.ctx.media.participantLeft(room, target, session.ctx.rooms.releaseIfEmpty(room));
    },
    publishTrack: async (session, message, { participant, room }) => {
      if (!participant.grants.canPublish) return denied('this token cannot publish');
      if (!viaServer(room.topology)) return wrongTopology(room.topology);
      // The same publication asked for again (its reply lost with a dropped connection): what the
      // first request published goes, so the track is not published twice.
      const replaced = message.cid === undefined ? undefined : participant.publicationCids.get(message.cid);
      const replacing = replaced !== undefined && participant.publishedTracks.has(replaced);
      if (participant.publishedTracks.size - (replacing ? 1 : 0) >= MAX_PUBLISHED_TRACKS) return { code: ErrorCode.MEDIA_REJECTED, message: `at most ${MAX_PUBLISHED_TRACKS} tracks per participant` };
      if (!session.mediaOperations.take()) return session.tooManyMediaOperations();
      const sfu = await session.ctx.media.service();
      if (replacing) await unpublish(sfu, room, participant, replaced);
      const trackId = `TR_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      try {
        const { sdp, codec } = await sfu.request({ op: 'publish', room: room.name, participant: participant.identity, trackId, source: message.source, sdp: message.sdp });
        participant.publishedTracks.set(trackId, message.source);
        if (message.cid !== undefined) {
          // Kept to the tracks still published: at most MAX_PUBLISHED_TRACKS entries.
          for (const [cid, id] of participant.publicationCids) if (!participant.publishedTracks.has(id)) participant.publicationCids.delete(cid);
          participant.publicationCids.set(message.cid, trackId);
        }
        room.trackPublished(participant, { id: trackId, source: message.source, codec });
        return { type: 'trackPublished', replyTo: message.id, trackId, sdp, codec };
      } catch (error) {
        if (isSfuFailure(error)) return sfuUnavailable(error);
        return { code: ErrorCode.MEDIA_REJECTED, message: `the SFU refused the offer: ${(error as Error).message}` };
      }
    },
    unpublishTrack: async (session, message, { participant, room }) => {
      if (!viaServer(room.topology)) return wrongTopology(room.topology);
      if (!participant.publishedTracks.has(message.trackId)) return trackNotFound(message.trackId);
      await unpublish(await session.ctx.media.service(), room, participant, message.trackId);
    },
    subscriberAnswer: async (session, message, { participant, room }) => {
      if (!viaServer(room.topology)) return wrongTopology(room.topology);
      try {
        const outcome = await (await session.ctx.media.service()).request({ op: 'answer', room: room.name, participant: participant.identity, sdp: message.sdp, ...(message.offerId === undefined ? {} : { offerId: message.offerId }) });
        if (outcome === 'stale') return { code: ErrorCode.STALE_ANSWER, message: message.offerId === undefined ? 'no subscriber offer is waiting for an answer' : `subscriber offer ${message.offerId} is not the one waiting for an answer` };
      } catch (error) {
        if (isSfuFailure(error)) return sfuUnavailable(error);
        return { code: ErrorCode.MEDIA_REJECTED, message: (error as Error).message };
      }
    },
    resubscribe: async (session, _message, { participant, room }) => {
      if (!viaServer(room.topology)) return wrongTopology(room.topology);
      if (!participant.grants.canSubscribe) return denied('this token cannot subscribe');
      if (!session.mediaOperations.take()) return session.tooManyMediaOperations();
      await (await session.ctx.media.service()).request({ op: 'resubscribe', room: room.name, participant: participant.identity });
    },
    setVideoQuality: async (session, message, { participant, room }) => {
      if (!viaServer(room.topology)) return wrongTopology(room.topology);
      try {
        await (await session.ctx.media.service()).request({ op: 'setQuality', room: room.name, participant: participant.identity, trackId: message.trackId, quality: message.quality });
      } catch (error) {
        return isSfuFailure(error) ? sfuUnavailable(error) : trackNotFound(message.trackId);
      }
    },
    qualityReport: (session, message, { participant }) => {
      if (!session.qualityReports.take()) {
        session.ctx.metrics.rateLimitRefusals.inc({ limit: 'quality_report' });
        return { code: ErrorCode.RATE_LIMITED, message: `quality reports are limited to one per ${1 / QUALITY_REPORTS_PER_SECOND} s` };
      }
      participant.callQuality.add(message.report);
      session.ctx.metrics.callQuality.observe(message.report);
    },
    setConnectionQuality: (session, message, { participant, room }) => {
      if (!participant.reportConnectionQuality(message.quality)) return;
      room.broadcast({ type: 'connectionQuality', identity: participant.identity, quality: message.quality }, participant.identity);
    },
    leave: (session, message, joined) => {
      session.send({ type: 'ack', replyTo: message.id });
      session.leaveRoom(joined, 'left');
      session.closed = true;
      session.socket.close(CloseCode.NORMAL, 'left');
    },
  };

  private leaveRoom({ participant, room }: Joined, reason: 'left' | 'disconnected'): void {
    this.joined = undefined;
    if (!room.remove(participant, reason)) return;
    this.log.info('participant left', { reason });
    const released = this.ctx.rooms.releaseIfEmpty(room);
    this.ctx.media.participantLeft(room, participant, released).catch((error: unknown) => {
      this.log.error('media cleanup failed for a leaving participant', { error });
    });
  }

  /** A dropped connection keeps its membership for the grace period, resumable by a new one. */
  private onClose(): void {
    this.closed = true;
    this.relay?.close();
    const joined = this.joined;
    if (!joined) return;
    // A draining node keeps the membership, and with it the SFU media, until the drain's time is up
    // however long the rejoin elsewhere takes: the SDK plays it until its new node's shows frames
    // (cluster/drain.ts).
    const drainingUntil = this.ctx.drainingUntil?.();
    const graceMs = Math.max(this.ctx.config.reconnectGraceSeconds * 1000, drainingUntil === undefined ? 0 : drainingUntil - Date.now());
    if (graceMs <= 0 || joined.participant.link !== this) return this.leaveRoom(joined, 'disconnected');
    this.log.info('participant connection dropped; resumable', { graceSeconds: Math.round(graceMs / 1000) });
    joined.participant.suspend(graceMs, () => this.leaveRoom(joined, 'disconnected'));
  }
}

function denied(message: string): ErrorReply {
  return { code: ErrorCode.PERMISSION_DENIED, message };
}

function wrongTopology(topology: string): ErrorReply {
  return { code: ErrorCode.WRONG_TOPOLOGY, message: `this room is ${topology}: SFU requests need an sfu or mcu room` };
}

/** The SFU failed to answer (not the request's fault): INTERNAL, with what happened. */
function sfuUnavailable(error: unknown): ErrorReply {
  return { code: ErrorCode.INTERNAL, message: `the SFU could not handle this now: ${error instanceof Error ? error.message : String(error)}` };
}

/** Takes a published track out of the room (announced) and off the SFU; the SFU failing to answer leaves it gone from the room all the same. */
async function unpublish(sfu: SfuService, room: Room, participant: Participant, trackId: string): Promise<void> {
  const source = participant.publishedTracks.get(trackId);
  if (source === undefined) return;
  participant.publishedTracks.delete(trackId);
  room.trackUnpublished(participant, { id: trackId, source });
  await sfu.request({ op: 'unpublish', room: room.name, participant: participant.identity, trackId }).catch(() => undefined);
}

function trackNotFound(trackId: string): ErrorReply {
  return { code: ErrorCode.TRACK_NOT_FOUND, message: `no track ${trackId} here` };
}

function notFound(identity: string): ErrorReply {
  return { code: ErrorCode.PARTICIPANT_NOT_FOUND, message: `participant ${identity} is not in this room` };
}
