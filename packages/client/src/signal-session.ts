import { VideoCodec, type IceServer, type ReceiveMode, type ServerMessageOf, type TrackSource } from '@parley/protocol';
import { ParleyError, type ParleyErrorCode } from './errors.js';
import { DefaultReconnectPolicy, guardedRetryDelay, type ReconnectContext, type ReconnectPolicy } from './reconnect-policy.js';
import { SignalClient, type ServerEvent } from './signal-client.js';
import { CHECK_EVERY_MS, Liveness } from './liveness.js';
import { log } from './log.js';

export type Joined = ServerMessageOf<'joined'>;

export interface ConnectOptions {
  /** The room the token must be for (the server checks). */
  room?: string;
  /** `'relay'` sends all media through TURN (hides participants' addresses from each other). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Preferred TURN region; the server falls back to its default for regions it does not know. */
  region?: string;
  /**
   * `mixed`: while the room's media goes through the SFU, hear the others as the server's one mix
   * (a `trackSubscribed` with source `mix`) instead of one audio track each; their video comes as
   * usual. For a weak device or network. Default `tracks`.
   */
  receive?: ReceiveMode;
}

export interface SignalSessionHandlers {
  /** A server event on the current connection. */
  event(event: ServerEvent): void;
  /** The connection dropped; retrying starts. */
  reconnecting(): void;
  /** A retry got in: `joined.resumed` says whether the server still had the membership. */
  reconnected(joined: Joined): void;
  /** The session is over: the server ended it for good, or retrying gave up. */
  ended(error: ParleyError): void;
  /** Fresh TURN credentials are in `iceServers`: hand them to the live connections. */
  iceServersRenewed(): void;
  error(error: ParleyError): void;
}

export interface SignalSessionOptions {
  /** The server's base URL (http(s)://host:port) or its WebSocket endpoint (ws(s)://host:port/ws). */
  url: string;
  token: string;
  connect: ConnectOptions;
  /** Default: `DefaultReconnectPolicy`. */
  reconnectPolicy?: ReconnectPolicy | undefined;
  handlers: SignalSessionHandlers;
}

/** TURN credentials are renewed when this share of their lifetime has passed. */
const ICE_REFRESH_AT = 0.8;
const ICE_REFRESH_RETRY_MS = 30_000;
/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Errors after which reconnecting cannot help. */
const FINAL_ERRORS: ReadonlySet<ParleyErrorCode> = new Set<ParleyErrorCode>(['TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_WRONG_ROOM', 'REPLACED', 'REMOVED', 'ROOM_FULL', 'PERMISSION_DENIED']);
/**
 * Closes the server ends on purpose that reconnecting does help: a server shutting down (a restart,
 * a deploy, an instance drained behind the load balancer) is back, or replaced, in a moment.
 */
const RECONNECT_AFTER = new Set(['SERVER_SHUTDOWN', 'ROOM_UNAVAILABLE']);
const LEAVE_TIMEOUT_MS = 1000;

/**
 * One membership of a room as signaling sees it, from the join to the end: the WebSocket, a ping
 * every 3 s (`liveness.ts`), the reconnect loop that resumes the membership (or joins afresh when the server
 * forgot it), and the TURN credentials renewed before they expire. Media never goes through it,
 * so calls keep flowing while it reconnects. The room decides what a resume or a fresh join
 * means for participants and media (`SignalSessionHandlers`).
 */
export class SignalSession {
  /** The ICE servers (with TURN credentials) the server gave last. */
  iceServers: IceServer[] = [];
  /** The connection requests go through; the dropped one while reconnecting, undefined once closed. */
  private client: SignalClient | undefined;
  private phase: 'joining' | 'connected' | 'reconnecting' | 'closed' = 'joining';
  private sessionId = '';
  /** What this participant publishes, announced with each join and reconnect. */
  private announcedTracks: () => TrackSource[] = () => [];
  /** How long the server keeps the membership for a resume. */
  private graceMs = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private iceRefreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: SignalSessionOptions) {}

  get current(): SignalClient | undefined {
    return this.client;
  }

  get connectOptions(): ConnectOptions {
    return this.options.connect;
  }

  /** A new RTCPeerConnection's configuration: `base` (the app's), the connect options' ICE policy, the server's ICE servers then the app's. */
  rtcConfiguration(base: RTCConfiguration = {}): RTCConfiguration {
    const { iceTransportPolicy } = this.options.connect;
    return { ...base, ...(iceTransportPolicy ? { iceTransportPolicy } : {}), iceServers: [...this.iceServers, ...(base.iceServers ?? [])] };
  }

  /**
   * Joins; `tracks` are announced with the join, so the others' participantJoined already shows
   * them. They go with every reconnect too: a resume ignores them, and when the membership is gone
   * (grace over, the room's node died) the fresh join shows the camera as on, not off, until it
   * is published again.
   */
  async join(tracks: () => TrackSource[]): Promise<Joined> {
    this.announcedTracks = tracks;
    const { signal, joined } = await this.open(undefined, tracks);
    this.adopt(signal, joined);
    this.phase = 'connected';
    this.startHeartbeat();
    return joined;
  }

  /** Tells the server this participant leaves (bounded: a dead connection does not hold up leaving). */
  async leave(): Promise<void> {
    const signal = this.client;
    // Leaving goes on whatever the answer: the server ends the membership when the socket closes anyway.
    if (signal?.isOpen) await withTimeout(signal.request({ type: 'leave' }), LEAVE_TIMEOUT_MS).catch((error: unknown) => log.debug('leave was not acknowledged', error));
  }

  close(): void {
    const signal = this.client;
    this.client = undefined;
    this.phase = 'closed';
    clearInterval(this.heartbeat);
    this.scheduleIceRefresh(undefined);
    signal?.close();
  }

  /** Opens a signaling connection and joins (or resumes `resume`). */
  private async open(resume: string | undefined, tracks: () => TrackSource[]): Promise<{ signal: SignalClient; joined: Joined }> {
    const { url, token, connect } = this.options;
    const signal = new SignalClient();
    signal.on('event', (event) => {
      if (signal === this.client) this.options.handlers.event(event);
    });
    signal.on('closed', (_code, _reason, fatal) => this.onClosed(signal, fatal));
    try {
      await signal.open(signalingUrl(url));
      const announced = tracks();
      const joined = await signal.request({
        type: 'join',
        token,
        sdk: 'parley-js/0.1.0',
        capabilities: { videoCodecs: decodableVideoCodecs() },
        ...(connect.room ? { room: connect.room } : {}),
        ...(connect.region ? { region: connect.region } : {}),
        ...(connect.receive === 'mixed' ? { receive: 'mixed' as const } : {}),
        ...(resume ? { resume } : {}),
        ...(announced.length > 0 ? { tracks: announced.map((source) => ({ source, muted: false })) } : {}),
      });
      return { signal, joined };
    } catch (error) {
      signal.close();
      throw error;
    }
  }

  /** Makes a connection that just joined the current one. */
  private adopt(signal: SignalClient, joined: Joined): void {
    this.client = signal;
    this.sessionId = joined.sessionId;
    this.graceMs = joined.reconnectGraceSeconds * 1000;
    this.iceServers = joined.iceServers;
    this.scheduleIceRefresh(joined.iceTtlSeconds);
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    let watched: { signal: SignalClient; liveness: Liveness } | undefined;
    this.heartbeat = setInterval(() => {
      const signal = this.client;
      if (!signal || this.phase !== 'connected') return;
      const now = performance.now();
      // A reconnect adopted another connection: its silence starts now.
      if (watched?.signal !== signal) watched = { signal, liveness: new Liveness(now) };
      const verdict = watched.liveness.check(now, signal.heardAt);
      if (verdict === 'dead') signal.abandon(`nothing from the server for ${Math.round(watched.liveness.silence / 1000)} s`);
      else if (verdict === 'ping') signal.request({ type: 'ping' }).catch((error: unknown) => log.debug('ping not answered', error));
    }, CHECK_EVERY_MS);
  }

  private onClosed(signal: SignalClient, fatal: ParleyError | undefined): void {
    if (signal !== this.client || this.phase !== 'connected') return;
    if (!fatal || RECONNECT_AFTER.has(fatal.code)) {
      void this.reconnect(fatal?.code === 'SERVER_SHUTDOWN' ? 'SERVER_SHUTDOWN' : 'CONNECTION_LOST');
      return;
    }
    this.options.handlers.ended(fatal);
  }

  /**
   * The signaling connection dropped: retry per the policy, resuming the membership so nobody sees
   * a leave or a join. If the server no longer knows the membership, the join is a fresh one.
   */
  private async reconnect(reason: ReconnectContext['reason']): Promise<void> {
    this.phase = 'reconnecting';
    this.options.handlers.reconnecting();
    const policy = this.options.reconnectPolicy ?? new DefaultReconnectPolicy();
    const started = Date.now();
    let lastError = new ParleyError('CONNECTION_LOST', 'the connection to the server was lost');
    for (let attempt = 0; ; attempt++) {
      const delay = guardedRetryDelay(policy, { attempt, elapsedMs: Date.now() - started, graceMs: this.graceMs, reason });
      if (delay === null) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.phase !== 'reconnecting') return;
      try {
        const { signal, joined } = await this.open(this.sessionId, this.announcedTracks);
        if (this.phase !== 'reconnecting') {
          signal.close();
          return;
        }
        this.adopt(signal, joined);
        this.options.handlers.reconnected(joined);
        this.phase = 'connected';
        return;
      } catch (error) {
        lastError = error instanceof ParleyError ? error : new ParleyError('CONNECTION_FAILED', (error as Error).message, { cause: error });
        if (FINAL_ERRORS.has(lastError.code)) break;
      }
    }
    this.options.handlers.ended(lastError);
  }

  // ---- TURN credential renewal: fresh iceServers before the current credentials expire ----

  private scheduleIceRefresh(ttlSeconds: number | undefined, delayMs = (ttlSeconds ?? 0) * 1000 * ICE_REFRESH_AT): void {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = undefined;
    if (ttlSeconds === undefined) return;
    this.iceRefreshTimer = setTimeout(() => void this.refreshIceServers(ttlSeconds), Math.min(delayMs, MAX_TIMER_MS));
  }

  /** Asks for fresh credentials; the room hands them to every live connection (used at its next ICE restart or TURN refresh). */
  private async refreshIceServers(previousTtlSeconds: number): Promise<void> {
    const signal = this.client;
    if (!signal || this.phase !== 'connected') return;
    try {
      const reply = await signal.request({ type: 'refreshIceServers' });
      if (signal !== this.client) return;
      this.iceServers = reply.iceServers;
      this.options.handlers.iceServersRenewed();
      this.scheduleIceRefresh(reply.iceTtlSeconds);
    } catch (error) {
      if (signal !== this.client) return;
      this.options.handlers.error(error instanceof ParleyError ? error : new ParleyError('NEGOTIATION_FAILED', `TURN credentials could not be renewed: ${(error as Error).message}`, { cause: error }));
      this.scheduleIceRefresh(previousTtlSeconds, ICE_REFRESH_RETRY_MS);
    }
  }
}

function signalingUrl(url: string): string {
  const parsed = new URL(url, typeof location === 'undefined' ? undefined : location.href);
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
    parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
    if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/ws';
  }
  return parsed.toString();
}

/** The video codecs this browser can decode, told to the SFU so it forwards only those. */
function decodableVideoCodecs(): VideoCodec[] {
  const mimeTypes = new Set((globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs ?? []).map((codec) => codec.mimeType.toLowerCase()));
  return VideoCodec.options.filter((codec) => mimeTypes.has(`video/${codec}`));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}
