import {
  PROTOCOL_VERSION,
  parseServerMessage,
  type ClientRequest,
  type ServerMessage,
  type ServerMessageOf,
} from '@parley/protocol';
import { TypedEmitter } from './events.js';
import { ParleyError } from './errors.js';

export type ServerEvent = Exclude<ServerMessage, { replyTo: string }>;
type Reply = Extract<ServerMessage, { replyTo: string }>;

/** What each request type is answered with when it succeeds. */
interface ReplyOf {
  join: ServerMessageOf<'joined'>;
  ping: ServerMessageOf<'pong'>;
  signal: ServerMessageOf<'ack'>;
  setTrackMuted: ServerMessageOf<'ack'>;
  sendData: ServerMessageOf<'ack'>;
  removeParticipant: ServerMessageOf<'ack'>;
  leave: ServerMessageOf<'ack'>;
  publishTrack: ServerMessageOf<'trackPublished'>;
  unpublishTrack: ServerMessageOf<'ack'>;
  subscriberAnswer: ServerMessageOf<'ack'>;
  setVideoQuality: ServerMessageOf<'ack'>;
  setConnectionQuality: ServerMessageOf<'ack'>;
  qualityReport: ServerMessageOf<'ack'>;
  resubscribe: ServerMessageOf<'ack'>;
  refreshIceServers: ServerMessageOf<'iceServers'>;
}

interface SignalClientEvents {
  event: (event: ServerEvent) => void;
  /** The socket closed; `error` is the fatal error the server sent just before, if any. */
  closed: (code: number, reason: string, error: ParleyError | undefined) => void;
}

const REQUEST_TIMEOUT_MS = 10_000;
/**
 * A connection attempt made while the network is down can hang in TCP's own retries for minutes;
 * given up after this, the reconnect policy's next attempt finds the network when it is back.
 */
const OPEN_TIMEOUT_MS = 8_000;

/** The signaling WebSocket: request/response correlation by id, and validated server events. */
export class SignalClient extends TypedEmitter<SignalClientEvents> {
  private socket: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (reply: Reply) => void; reject: (error: ParleyError) => void; timer: ReturnType<typeof setTimeout> }>();
  private fatalError: ParleyError | undefined;
  /** performance.now() of the newest message from the server, any (`liveness.ts`). */
  heardAt = performance.now();

  /** Opens the socket; resolves once it is open. */
  open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(new ParleyError('CONNECTION_FAILED', `invalid signaling URL ${url}: ${(error as Error).message}`, { cause: error }));
        return;
      }
      this.socket = socket;
      this.fatalError = undefined;
      this.heardAt = performance.now();
      let opened = false;
      const timer = setTimeout(() => {
        reject(new ParleyError('CONNECTION_FAILED', `the signaling server at ${url} did not answer within ${OPEN_TIMEOUT_MS / 1000} s`));
        socket.close();
      }, OPEN_TIMEOUT_MS);
      socket.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      };
      socket.onmessage = (event) => {
        this.heardAt = performance.now();
        this.onMessage(event.data);
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        if (!opened) reject(new ParleyError('CONNECTION_FAILED', `could not reach the signaling server at ${url}`));
        this.onClosed(event.code, event.reason);
      };
    });
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  request<T extends keyof ReplyOf>(message: ClientRequest<T> & { type: T }): Promise<ReplyOf[T]> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new ParleyError('NOT_CONNECTED', 'not connected to the signaling server'));
    const id = String(this.nextId++);
    return new Promise<ReplyOf[T]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ParleyError('REQUEST_TIMEOUT', `the server did not answer ${message.type} in time`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (reply: Reply) => void, reject, timer });
      socket.send(JSON.stringify({ ...message, v: PROTOCOL_VERSION, id }));
    });
  }

  close(): void {
    this.socket?.close(1000, 'client closed');
  }

  /**
   * Gives up on a connection that stopped answering: reports it closed now, without waiting for
   * a closing handshake a dead network would never complete.
   */
  abandon(reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    socket.close(4000, reason.slice(0, 100));
    this.onClosed(4000, reason);
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      console.warn(`parley: ignoring an invalid server message (${parsed.reason})`);
      return;
    }
    const message = parsed.message;
    if (message.type === 'error') {
      const error = new ParleyError(message.code, message.message);
      if (message.fatal) this.fatalError = error;
      if (message.replyTo !== undefined) return this.settle(message.replyTo, (p) => p.reject(error));
      if (!message.fatal) console.warn(`parley: server error ${message.code}: ${message.message}`);
      return;
    }
    if ('replyTo' in message) return this.settle(message.replyTo, (p) => p.resolve(message));
    this.emit('event', message);
  }

  private settle(id: string, action: (pending: { resolve: (reply: Reply) => void; reject: (error: ParleyError) => void }) => void): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    action(pending);
  }

  private onClosed(code: number, reason: string): void {
    this.socket = undefined;
    const error = this.fatalError ?? new ParleyError('CONNECTION_LOST', `the signaling connection closed (${code}${reason ? `: ${reason}` : ''})`);
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
    this.emit('closed', code, reason, this.fatalError);
  }
}
