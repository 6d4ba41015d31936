import type { RawData, WebSocket } from 'ws';
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageOf,
  type IceServer,
  type ServerMessage,
} from '@parley/protocol';
import { verifyToken } from '../auth/token.js';
import type { ServerConfig } from '../config/config.js';
import { iceServersFor } from '../ice/ice-servers.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { Logger } from '../logger.js';
import { Participant, type ParticipantLink } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { RecentIds } from './recent-ids.js';
import { sdpSendsMedia } from './sdp-policy.js';

export interface SessionContext {
  config: ServerConfig;
  rooms: RoomRegistry;
  logger: Logger;
  serverVersion: string;
  /** The built-in TURN server's URLs and the secret its credentials use, when it runs. */
  builtInTurn?: { urls: readonly string[]; secret: string } | undefined;
}

type Joined = { participant: Participant; room: Room };
type Handler<T extends ClientMessage['type']> = (message: ClientMessageOf<T>, joined: Joined) => ErrorReply | void;
type ErrorReply = { code: ErrorCode; message: string };

const REMEMBERED_REQUEST_IDS = 1024;

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
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    readonly ip: string,
    private readonly ctx: SessionContext,
  ) {
    const { limits } = ctx.config;
    this.messageBucket = new TokenBucket(limits.messageBurst, limits.messagesPerSecond);
    this.floodStrikes = new TokenBucket(limits.floodStrikes, 1);
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => ctx.logger.debug('socket error', { ip, error }));
  }

  get identity(): string | undefined {
    return this.joined?.participant.identity;
  }

  send(message: ServerMessage): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  terminate(code: ErrorCode, message: string, closeCode: number): void {
    this.joined = undefined;
    this.fail(code, message, closeCode);
  }

  /** Sends a fatal error and closes; used for auth failures, floods and server-side decisions. */
  fail(code: ErrorCode, message: string, closeCode: number, replyTo?: string): void {
    if (this.closed) return;
    this.sendError({ code, message }, replyTo, true);
    this.closed = true;
    this.socket.close(closeCode, message.slice(0, 120));
  }

  private sendError(error: ErrorReply, replyTo: string | undefined, fatal = false): void {
    this.send({ v: PROTOCOL_VERSION, type: 'error', ...(replyTo === undefined ? {} : { replyTo }), code: error.code, message: error.message, fatal });
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
      if (!this.floodStrikes.take()) {
        this.ctx.logger.warn('closing flooding connection', { ip: this.ip, identity: this.identity });
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
    this.queue = this.queue.then(() => this.handleText(text)).catch((error: unknown) => {
      this.ctx.logger.error('unexpected error while handling a message', { ip: this.ip, error });
      this.sendError({ code: ErrorCode.INTERNAL, message: 'internal server error' }, undefined);
    });
  }

  private async handleText(text: string): Promise<void> {
    if (this.closed) return;
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.sendError({ code: parsed.code, message: parsed.reason }, parsed.id);
      return;
    }
    const message = parsed.message;
    if (!this.usedIds.add(message.id)) {
      this.sendError({ code: ErrorCode.DUPLICATE_ID, message: `request id ${message.id} was already used on this connection` }, message.id);
      return;
    }
    if (message.type === 'join') return this.handleJoin(message);
    if (message.type === 'ping') return this.send({ v: PROTOCOL_VERSION, type: 'pong', replyTo: message.id, time: Date.now() });
    if (!this.joined) {
      this.sendError({ code: ErrorCode.NOT_JOINED, message: `${message.type} needs a joined room: send join first` }, message.id);
      return;
    }
    if (message.type === 'refreshIceServers') {
      this.region = message.region ?? this.region;
      return this.send({ v: PROTOCOL_VERSION, type: 'iceServers', replyTo: message.id, ...this.iceServers(this.joined.participant.identity) });
    }
    const handler = this.handlers[message.type] as Handler<typeof message.type>;
    const error = handler(message, this.joined);
    if (error) this.sendError(error, message.id);
    else if (!this.closed) this.send({ v: PROTOCOL_VERSION, type: 'ack', replyTo: message.id });
  }

  private async handleJoin(message: ClientMessageOf<'join'>): Promise<void> {
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
    const room = this.ctx.rooms.getOrCreate(claims.room);
    const participant = new Participant(claims.sub, claims.name ?? claims.sub, claims.grants, this);
    const admission = room.admit(participant);
    if (!admission.ok) {
      this.ctx.rooms.releaseIfEmpty(room);
      return this.fail(admission.code, admission.message, CloseCode.ROOM_FULL, message.id);
    }
    this.joined = { participant, room };
    this.joining = false;
    this.region = message.region;
    this.ctx.logger.info('participant joined', { room: room.name, identity: participant.identity, ip: this.ip });
    this.send({
      v: PROTOCOL_VERSION,
      type: 'joined',
      replyTo: message.id,
      room: room.info(),
      participant: participant.info(),
      participants: room.others(participant.identity).map((p) => p.info()),
      ...this.iceServers(participant.identity),
      serverVersion: this.ctx.serverVersion,
    });
  }

  /** ICE servers with fresh TURN credentials, and how long those stay valid. */
  private iceServers(identity: string): { iceServers: IceServer[]; iceTtlSeconds?: number } {
    const { ice } = this.ctx.config;
    const builtIn = this.ctx.builtInTurn;
    const iceServers = iceServersFor(identity, ice, Date.now(), { ...(builtIn ? { builtInUrls: builtIn.urls, secret: builtIn.secret } : {}), region: this.region });
    return iceServers.some((server) => server.credential !== undefined) ? { iceServers, iceTtlSeconds: ice.turnCredentialTtlSeconds } : { iceServers };
  }

  private readonly handlers: { [T in Exclude<ClientMessage['type'], 'join' | 'ping' | 'refreshIceServers'>]: Handler<T> } = {
    signal: (message, { participant, room }) => {
      if (!participant.grants.canPublish && !participant.grants.canSubscribe) return denied('media signaling needs canPublish or canSubscribe');
      const description = message.payload.description;
      if (description && !participant.grants.canPublish && sdpSendsMedia(description.sdp)) {
        return denied('this token cannot publish: offer receive-only media');
      }
      const target = room.get(message.to);
      if (!target || target === participant) return notFound(message.to);
      target.link.send({ v: PROTOCOL_VERSION, type: 'signal', from: participant.identity, payload: message.payload });
    },
    setTrackMuted: (message, { participant, room }) => {
      if (!participant.grants.canPublish) return denied('this token cannot publish');
      participant.setTrackMuted(message.source, message.muted);
      room.broadcast({ v: PROTOCOL_VERSION, type: 'participantUpdated', participant: participant.info() }, participant.identity);
    },
    sendData: (message, { participant, room }) => {
      if (!participant.grants.canPublishData) return denied('this token cannot publish data');
      const recipients = message.to === undefined ? room.others(participant.identity) : message.to.map((identity) => room.get(identity));
      const missing = message.to?.find((_, index) => recipients[index] === undefined);
      if (missing !== undefined) return notFound(missing);
      const event = { v: PROTOCOL_VERSION, type: 'data', from: participant.identity, payload: message.payload, ...(message.topic === undefined ? {} : { topic: message.topic }) } as const;
      for (const recipient of recipients) if (recipient !== participant) recipient?.link.send(event);
    },
    removeParticipant: (message, { participant, room }) => {
      if (!participant.grants.roomAdmin) return denied('removing participants needs roomAdmin');
      const target = room.get(message.identity);
      if (!target) return notFound(message.identity);
      room.remove(target, 'removed');
      target.link.terminate(ErrorCode.REMOVED, `removed from room ${room.name} by ${participant.identity}`, CloseCode.REMOVED);
      this.ctx.rooms.releaseIfEmpty(room);
    },
    leave: (message, joined) => {
      this.send({ v: PROTOCOL_VERSION, type: 'ack', replyTo: message.id });
      this.leaveRoom(joined, 'left');
      this.closed = true;
      this.socket.close(CloseCode.NORMAL, 'left');
    },
  };

  private leaveRoom({ participant, room }: Joined, reason: 'left' | 'disconnected'): void {
    this.joined = undefined;
    if (room.remove(participant, reason)) this.ctx.logger.info('participant left', { room: room.name, identity: participant.identity, reason });
    this.ctx.rooms.releaseIfEmpty(room);
  }

  private onClose(): void {
    this.closed = true;
    if (this.joined) this.leaveRoom(this.joined, 'disconnected');
  }
}

function denied(message: string): ErrorReply {
  return { code: ErrorCode.PERMISSION_DENIED, message };
}

function notFound(identity: string): ErrorReply {
  return { code: ErrorCode.PARTICIPANT_NOT_FOUND, message: `participant ${identity} is not in this room` };
}
