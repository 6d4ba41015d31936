import type { IceServer, LeaveReason, ParticipantInfo, RoomInfo, SignalPayload, TrackSource } from '@parley/protocol';
import { ParleyError } from './errors.js';
import { TypedEmitter } from './events.js';
import { LocalParticipant, type CaptureDefaults } from './local-participant.js';
import { PeerLink } from './p2p/peer-link.js';
import { RemoteParticipant } from './participant.js';
import { SignalClient, type ServerEvent } from './signal-client.js';
import { StatsSampler, type TrackStats } from './stats.js';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

export interface TrackEvent {
  track: MediaStreamTrack;
  participant: RemoteParticipant;
  source: TrackSource;
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
  /** The session ended; `error` says why when it was not `disconnect()` (replaced, removed, lost). */
  disconnected: (error?: ParleyError) => void;
  error: (error: ParleyError) => void;
}

export interface ConnectOptions {
  /** The room the token must be for (the server checks). */
  room?: string;
  /** `'relay'` sends all media through TURN (hides participants' addresses from each other). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Preferred TURN region; the server falls back to its default for regions it does not know. */
  region?: string;
}

/** TURN credentials are renewed when this share of their lifetime has passed. */
const ICE_REFRESH_AT = 0.8;
const ICE_REFRESH_RETRY_MS = 30_000;
/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RoomOptions {
  /** Merged into each RTCPeerConnection's configuration (e.g. `iceTransportPolicy: 'relay'`); the server's ICE servers are added. */
  rtcConfig?: RTCConfiguration;
  capture?: CaptureDefaults;
}

/**
 * A call. Connect with a token; the room keeps one signaling connection and, in a P2P room,
 * one PeerLink per remote participant.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly localParticipant: LocalParticipant;
  readonly remoteParticipants = new Map<string, RemoteParticipant>();
  private connectionState: ConnectionState = 'disconnected';
  private info: RoomInfo | undefined;
  private iceServers: IceServer[] = [];
  private iceTransportPolicy: RTCIceTransportPolicy | undefined;
  private iceRefreshTimer: ReturnType<typeof setTimeout> | undefined;
  private signal: SignalClient | undefined;
  private readonly links = new Map<string, PeerLink>();
  private readonly sampler = new StatsSampler();

  constructor(private readonly options: RoomOptions = {}) {
    super();
    this.localParticipant = new LocalParticipant(
      {
        publish: (source, track) => this.publishLocal(source, track),
        unpublish: (source, track) => this.unpublishLocal(source, track),
      },
      options.capture,
    );
  }

  get state(): ConnectionState {
    return this.connectionState;
  }

  get name(): string | undefined {
    return this.info?.name;
  }

  get topology(): RoomInfo['topology'] | undefined {
    return this.info?.topology;
  }

  /**
   * Joins the room named by the token. `url` is the server's base URL (http(s)://host:port) or
   * its WebSocket endpoint (ws(s)://host:port/ws). `options.room` makes the server check that the
   * token is for that room.
   */
  async connect(url: string, token: string, options: ConnectOptions = {}): Promise<void> {
    if (this.connectionState !== 'disconnected') throw new ParleyError('ALREADY_JOINED', `the room is ${this.connectionState}`);
    this.setState('connecting');
    const signal = new SignalClient();
    this.signal = signal;
    signal.on('event', (event) => this.onServerEvent(event));
    signal.on('closed', (_code, _reason, fatal) => this.onSignalClosed(signal, fatal));
    try {
      await signal.open(signalingUrl(url));
      const joined = await signal.request({
        type: 'join',
        token,
        sdk: 'parley-js/0.1.0',
        ...(options.room ? { room: options.room } : {}),
        ...(options.region ? { region: options.region } : {}),
      });
      this.info = joined.room;
      this.iceServers = joined.iceServers;
      this.iceTransportPolicy = options.iceTransportPolicy;
      this.scheduleIceRefresh(joined.iceTtlSeconds);
      this.localParticipant.identity = joined.participant.identity;
      this.localParticipant.name = joined.participant.name;
      this.localParticipant.grants = joined.participant.grants;
      for (const info of joined.participants) this.addParticipant(info, false);
      this.setState('connected');
      for (const [source] of this.localParticipant.tracks) void this.announce(source, false);
    } catch (error) {
      this.teardown();
      throw error instanceof ParleyError ? error : new ParleyError('CONNECTION_FAILED', (error as Error).message);
    }
  }

  async disconnect(): Promise<void> {
    const signal = this.signal;
    if (!signal) return;
    if (signal.isOpen) await withTimeout(signal.request({ type: 'leave' }), 1000).catch(() => undefined);
    this.teardown();
    this.emit('disconnected');
  }

  /** Sends an application message to everyone (or `to`) in the room over the signaling channel. */
  async sendData(payload: string, options: { topic?: string; to?: string[] } = {}): Promise<void> {
    await this.requireSignal().request({ type: 'sendData', payload, ...options });
  }

  /** Per-stream statistics for every connection of this room. */
  async getStats(): Promise<TrackStats[]> {
    const all = await Promise.all(
      [...this.links.values()].map((link) =>
        this.sampler.sample(link.pc, link.remoteIdentity, (mid, direction) => {
          const transceiver = link.pc.getTransceivers().find((t) => t.mid === mid);
          const track = direction === 'outbound' ? transceiver?.sender.track : transceiver?.receiver.track;
          return track ? this.sourceOfTrack(link.remoteIdentity, track) : undefined;
        }),
      ),
    );
    return all.flat();
  }

  private sourceOfTrack(identity: string, track: MediaStreamTrack): TrackSource | undefined {
    for (const [source, local] of this.localParticipant.tracks) if (local === track) return source;
    for (const [source, remote] of this.remoteParticipants.get(identity)?.tracks ?? []) if (remote.track === track) return source;
    return undefined;
  }

  private requireSignal(): SignalClient {
    if (!this.signal || this.connectionState !== 'connected') throw new ParleyError('NOT_CONNECTED', 'the room is not connected');
    return this.signal;
  }

  private onServerEvent(event: ServerEvent): void {
    switch (event.type) {
      case 'participantJoined':
        return this.addParticipant(event.participant, true);
      case 'participantUpdated':
        return this.updateParticipant(event.participant);
      case 'participantLeft':
        return this.removeParticipant(event.identity, event.reason);
      case 'signal':
        return this.links.get(event.from)?.receive(event.payload);
      case 'data':
        return this.emit('dataReceived', { from: event.from, payload: event.payload, ...(event.topic === undefined ? {} : { topic: event.topic }) });
      case 'error':
        return;
    }
  }

  private addParticipant(info: ParticipantInfo, announce: boolean): void {
    // The server announces a replaced identity as left before it joins again; this only guards order.
    if (this.remoteParticipants.has(info.identity)) this.removeParticipant(info.identity, 'replaced');
    const participant = new RemoteParticipant(info);
    this.remoteParticipants.set(info.identity, participant);
    const link = this.createLink(participant);
    this.links.set(info.identity, link);
    if (announce) this.emit('participantJoined', participant);
    if (participant.grants.canSubscribe) for (const [source, track] of this.localParticipant.tracks) void link.publish(source, track);
  }

  private updateParticipant(info: ParticipantInfo): void {
    const participant = this.remoteParticipants.get(info.identity);
    if (!participant) return;
    participant.updateInfo(info);
    this.emit('participantUpdated', participant);
  }

  private removeParticipant(identity: string, reason: LeaveReason): void {
    const participant = this.remoteParticipants.get(identity);
    if (!participant) return;
    this.links.get(identity)?.close();
    this.links.delete(identity);
    this.sampler.forget(identity);
    this.remoteParticipants.delete(identity);
    for (const [source, { track }] of participant.tracks) {
      if (!track) continue;
      participant.setSubscribed(source, undefined);
      this.emit('trackUnsubscribed', { track, participant, source });
    }
    this.emit('participantLeft', participant, reason);
  }

  private createLink(participant: RemoteParticipant): PeerLink {
    const identity = participant.identity;
    const configuration: RTCConfiguration = {
      ...this.options.rtcConfig,
      ...(this.iceTransportPolicy ? { iceTransportPolicy: this.iceTransportPolicy } : {}),
      iceServers: this.allIceServers(),
    };
    // Both sides must agree who is polite without talking: compare identities.
    return new PeerLink(identity, this.localParticipant.identity < identity, configuration, {
      signal: (payload: SignalPayload) => {
        this.signal?.request({ type: 'signal', to: identity, payload }).catch((error: ParleyError) => {
          if (this.links.has(identity)) this.emit('error', error);
        });
      },
      trackAdded: (source, track) => {
        participant.setSubscribed(source, track);
        this.emit('trackSubscribed', { track, participant, source });
      },
      trackRemoved: (source, track) => {
        if (participant.tracks.get(source)?.track !== track) return;
        participant.setSubscribed(source, undefined);
        this.emit('trackUnsubscribed', { track, participant, source });
      },
      failed: (error) => this.emit('error', new ParleyError('NEGOTIATION_FAILED', `media negotiation with ${identity} failed: ${error.message}`)),
    });
  }

  private allIceServers(): RTCIceServer[] {
    return [...this.iceServers, ...(this.options.rtcConfig?.iceServers ?? [])];
  }

  // ---- TURN credential renewal: fresh iceServers before the current credentials expire ----

  private scheduleIceRefresh(ttlSeconds: number | undefined, delayMs = (ttlSeconds ?? 0) * 1000 * ICE_REFRESH_AT): void {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = undefined;
    if (ttlSeconds === undefined) return;
    this.iceRefreshTimer = setTimeout(() => void this.refreshIceServers(ttlSeconds), Math.min(delayMs, MAX_TIMER_MS));
  }

  /** Asks for fresh credentials and hands them to every live connection (used at its next ICE restart or TURN refresh). */
  private async refreshIceServers(previousTtlSeconds: number): Promise<void> {
    const signal = this.signal;
    if (!signal || this.connectionState !== 'connected') return;
    try {
      const reply = await signal.request({ type: 'refreshIceServers' });
      if (signal !== this.signal) return;
      this.iceServers = reply.iceServers;
      for (const link of this.links.values()) this.renewIceServers(link);
      this.scheduleIceRefresh(reply.iceTtlSeconds);
    } catch (error) {
      if (signal !== this.signal) return;
      this.emit('error', error instanceof ParleyError ? error : new ParleyError('NEGOTIATION_FAILED', `TURN credentials could not be renewed: ${(error as Error).message}`));
      this.scheduleIceRefresh(previousTtlSeconds, ICE_REFRESH_RETRY_MS);
    }
  }

  /**
   * TURN servers refuse to refresh an allocation with expired credentials, and browsers use new
   * iceServers only when they gather again: so set them, then restart ICE (media keeps flowing on
   * the current pair until the new one is chosen).
   */
  private renewIceServers(link: PeerLink): void {
    try {
      link.pc.setConfiguration({ ...link.pc.getConfiguration(), iceServers: this.allIceServers() });
    } catch (error) {
      this.emit('error', new ParleyError('NEGOTIATION_FAILED', `new ICE servers refused for ${link.remoteIdentity}: ${(error as Error).message}`));
      return;
    }
    link.pc.restartIce();
  }

  private async publishLocal(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    for (const [identity, link] of this.links) {
      if (this.remoteParticipants.get(identity)?.grants.canSubscribe) await link.publish(source, track);
    }
    this.emit('localTrackPublished', { track, source });
    await this.announce(source, false);
  }

  private async unpublishLocal(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    for (const link of this.links.values()) await link.unpublish(source);
    this.emit('localTrackUnpublished', { track, source });
    await this.announce(source, true);
  }

  /** Tells the room whether a source is live or muted (shown on others' tiles). */
  private async announce(source: TrackSource, muted: boolean): Promise<void> {
    if (this.connectionState !== 'connected' || !this.signal) return;
    await this.signal.request({ type: 'setTrackMuted', source, muted }).catch((error: ParleyError) => this.emit('error', error));
  }

  private onSignalClosed(signal: SignalClient, fatal: ParleyError | undefined): void {
    if (signal !== this.signal || this.connectionState === 'connecting') return;
    const error = fatal ?? new ParleyError('CONNECTION_LOST', 'the connection to the server was lost');
    this.teardown();
    this.emit('error', error);
    this.emit('disconnected', error);
  }

  private teardown(): void {
    const signal = this.signal;
    this.signal = undefined;
    this.scheduleIceRefresh(undefined);
    signal?.close();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.remoteParticipants.clear();
    this.localParticipant.stopAll();
    this.setState('disconnected');
  }

  private setState(state: ConnectionState): void {
    const previous = this.connectionState;
    if (previous === state) return;
    this.connectionState = state;
    this.emit('connectionStateChanged', state, previous);
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}
