import type { SignalPayload, TrackSource } from '@parley/protocol';
import { ENCODER_RESTART_DELAY_MS, restartEncoderAdaptation, withStartBitrate } from '../start-bitrate.js';
import { EncoderWatch } from './encoder-watch.js';
import type { Timeline } from '../timeline.js';

export interface PeerLinkHandlers {
  /** Something to deliver to the remote peer through the signaling server. */
  signal(payload: SignalPayload): void;
  trackAdded(source: TrackSource, track: MediaStreamTrack): void;
  trackRemoved(source: TrackSource, track: MediaStreamTrack): void;
  /** A negotiation step failed in a way the link cannot recover from by itself. */
  failed(error: Error): void;
}

export interface PeerLinkOptions {
  remoteIdentity: string;
  /** Both sides must agree without talking: the room compares identities. */
  polite: boolean;
  configuration: RTCConfiguration;
  timeline: Timeline;
  handlers: PeerLinkHandlers;
  /** What to send from the start: the first offer and answer carry these, no renegotiation needed. */
  tracks?: ReadonlyMap<TrackSource, MediaStreamTrack>;
}

/**
 * A direct connection to one remote participant, negotiated with the "perfect negotiation"
 * pattern (W3C WebRTC examples): either side may renegotiate at any time; on an offer collision
 * the polite side rolls back and the impolite side ignores the other's offer.
 */
export class PeerLink {
  readonly pc: RTCPeerConnection;
  private readonly senders = new Map<TrackSource, RTCRtpTransceiver>();
  private readonly remoteSources = new Map<string, TrackSource>();
  /** Tracks the polite side publishes once the first offer has given it m-lines to send on. */
  private readonly deferred = new Map<TrackSource, MediaStreamTrack>();
  private readonly streams = new Map<TrackSource, MediaStream>();
  private offerReceived = false;
  /** Once per link, when it first connects (see restartEncoderAdaptation). */
  private encodersRestarted = false;
  /** Restarts an encoder again when the first restart came too early (see EncoderWatch). */
  private readonly encoderWatch: EncoderWatch;
  private makingOffer = false;
  private ignoreOffer = false;
  private incoming: Promise<void> = Promise.resolve();
  private closed = false;

  readonly remoteIdentity: string;
  private readonly polite: boolean;
  private readonly timeline: Timeline;
  private readonly handlers: PeerLinkHandlers;

  constructor({ remoteIdentity, polite, configuration, timeline, handlers, tracks = new Map() }: PeerLinkOptions) {
    this.remoteIdentity = remoteIdentity;
    this.polite = polite;
    this.timeline = timeline;
    this.handlers = handlers;
    this.pc = new RTCPeerConnection(configuration);
    timeline.watch(this.pc, `p2p:${remoteIdentity}`);
    this.encoderWatch = new EncoderWatch(this.pc, `p2p:${remoteIdentity}`);
    this.pc.onnegotiationneeded = () => void this.negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      if (!candidate || candidate.candidate === '') return;
      const { sdpMid, sdpMLineIndex, usernameFragment } = candidate;
      handlers.signal({ candidate: { candidate: candidate.candidate, sdpMid, sdpMLineIndex, usernameFragment } });
    };
    this.pc.oniceconnectionstatechange = () => {
      // A path that failed (network change, NAT rebinding) gets new candidates without leaving the room.
      if (this.pc.iceConnectionState === 'failed') this.pc.restartIce();
    };
    this.pc.ontrack = (event) => this.onTrack(event);
    this.pc.addEventListener('connectionstatechange', () => {
      if (this.pc.connectionState !== 'connected' || this.encodersRestarted) return;
      this.encodersRestarted = true;
      this.encoderWatch.start();
      setTimeout(() => {
        if (this.closed) return;
        for (const sender of this.pc.getSenders()) if (sender.track?.kind === 'video') void restartEncoderAdaptation(sender);
      }, ENCODER_RESTART_DELAY_MS);
    });
    if (polite) this.createMatchingSenders(tracks);
    else this.createInitialTransceivers(tracks);
  }

  /** Sends `track` as `source` on the source's m-line (created or borrowed on first use). */
  async publish(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    if (this.closed) return;
    if (this.polite && !this.offerReceived) {
      this.deferred.set(source, track);
      return;
    }
    await this.attach(source, track);
  }

  /** The sender carrying `source`, while it sends. */
  senderOf(source: TrackSource): RTCRtpSender | undefined {
    const transceiver = this.senders.get(source);
    return transceiver?.sender.track ? transceiver.sender : undefined;
  }

  /** Stops sending `source`; the remote sees its track removed, and the m-line stays for reuse. */
  async unpublish(source: TrackSource): Promise<void> {
    this.deferred.delete(source);
    const transceiver = this.senders.get(source);
    if (!transceiver || this.closed) return;
    await transceiver.sender.replaceTrack(null);
    transceiver.direction = 'recvonly';
  }

  /**
   * The impolite side makes the first offer with one audio and one video m-line, sending on them
   * what it already has (so the call needs one offer and one answer: offering them receive-only
   * and adding the tracks after took a second round trip, ~100-200 ms before the first frame); the
   * polite side waits for it and sends on those m-lines. Chromium fails to offer m-lines it created
   * before applying a Firefox offer ("BUNDLE group contains a codec collision for header
   * extension"), so the side that answers first must not create its own.
   */
  private createInitialTransceivers(tracks: ReadonlyMap<TrackSource, MediaStreamTrack>): void {
    for (const source of ['microphone', 'camera'] as const) {
      const track = tracks.get(source);
      if (!track) {
        this.senders.set(source, this.pc.addTransceiver(source === 'camera' ? 'video' : 'audio', { direction: 'recvonly' }));
        continue;
      }
      const stream = new MediaStream();
      this.streams.set(source, stream);
      this.senders.set(source, this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] }));
    }
    for (const [source, track] of tracks) if (source !== 'microphone' && source !== 'camera') void this.attach(source, track);
  }

  /**
   * The polite side's camera and microphone, added before the first offer arrives with addTrack:
   * applying the offer pairs them with its audio and video m-lines (an addTrack transceiver not yet
   * associated takes the first m-line of its kind), so the answer sends them without attaching
   * tracks between applying the offer and answering (bench:join p2p, 10 joins each, alternating:
   * the other saw the newcomer at floor + 150 ms median when they were attached after, + 110
   * now). Other sources wait for the offer's m-lines; none of these is offered (see
   * createInitialTransceivers).
   */
  private createMatchingSenders(tracks: ReadonlyMap<TrackSource, MediaStreamTrack>): void {
    for (const [source, track] of tracks) {
      if (source !== 'microphone' && source !== 'camera') {
        this.deferred.set(source, track);
        continue;
      }
      const stream = new MediaStream();
      this.streams.set(source, stream);
      const sender = this.pc.addTrack(track, stream);
      this.senders.set(source, this.pc.getTransceivers().find((t) => t.sender === sender)!);
    }
  }

  private async attach(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    let transceiver = this.senders.get(source) ?? this.freeTransceiver(track.kind);
    if (!transceiver) transceiver = this.pc.addTransceiver(track.kind, { direction: 'recvonly' });
    this.senders.set(source, transceiver);
    this.streams.set(source, this.streams.get(source) ?? new MediaStream());
    transceiver.sender.setStreams(this.streams.get(source)!);
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = 'sendrecv';
  }

  /** An m-line of this kind the remote created that no local source sends on yet. */
  private freeTransceiver(kind: string): RTCRtpTransceiver | undefined {
    const taken = new Set(this.senders.values());
    return this.pc.getTransceivers().find((t) => !taken.has(t) && t.currentDirection !== 'stopped' && t.receiver.track.kind === kind);
  }

  /** Feeds a signal from the remote peer; signals are applied strictly in order. */
  receive(payload: SignalPayload): void {
    this.incoming = this.incoming.then(() => this.apply(payload)).catch((error: unknown) => {
      if (!this.closed) this.handlers.failed(error as Error);
    });
  }

  /** Whether this link has connected at least once: one that never has carries nothing worth keeping. */
  get everConnected(): boolean {
    return this.encodersRestarted;
  }

  /** How often the watch restarted an encoder held back (`debugState()`). */
  get encoderRestarts(): number {
    return this.encoderWatch.restarts;
  }

  close(): void {
    this.closed = true;
    this.encoderWatch.stop();
    this.pc.close();
  }

  /**
   * Fresh TURN credentials. TURN servers refuse to refresh an allocation with expired credentials,
   * and browsers use new iceServers only when they gather again: so set them, then restart ICE
   * (media keeps flowing on the current pair until the new one is chosen). Throws if refused.
   */
  renewIceServers(iceServers: RTCIceServer[]): void {
    this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    this.pc.restartIce();
  }

  private async negotiate(): Promise<void> {
    // The polite side answers the first offer (its own tracks go in the answer); offering first would collide.
    if (this.closed || (this.polite && !this.offerReceived)) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendDescription();
    } catch (error) {
      if (!this.closed) this.handlers.failed(error as Error);
    } finally {
      this.makingOffer = false;
    }
  }

  private async apply({ description, candidate, trackSources }: SignalPayload): Promise<void> {
    if (this.closed) return;
    if (description) {
      const collision = description.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      for (const [mid, source] of Object.entries(trackSources ?? {})) this.remoteSources.set(mid, source);
      if (description.type === 'offer') this.timeline.mark('p2pOfferReceived', this.remoteIdentity);
      await this.pc.setRemoteDescription(withStartBitrate(description));
      if (description.type === 'offer') {
        this.timeline.mark('p2pOfferApplied', this.remoteIdentity);
        if (!this.offerReceived) await this.attachDeferred();
        await this.pc.setLocalDescription();
        this.sendDescription();
      }
      return;
    }
    if (candidate) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  /** Puts the tracks published before the first offer on its m-lines, so the answer carries them. */
  private async attachDeferred(): Promise<void> {
    this.offerReceived = true;
    for (const [source, track] of this.deferred) await this.attach(source, track);
    this.deferred.clear();
  }

  private sendDescription(): void {
    const local = this.pc.localDescription;
    if (!local) return;
    const trackSources: Record<string, TrackSource> = {};
    for (const [source, transceiver] of this.senders) if (transceiver.mid !== null) trackSources[transceiver.mid] = source;
    this.timeline.mark(local.type === 'offer' ? 'p2pOffer' : 'p2pAnswer', this.remoteIdentity);
    this.handlers.signal({ description: { type: local.type, sdp: local.sdp }, trackSources });
  }

  private onTrack({ track, transceiver, streams }: RTCTrackEvent): void {
    const source = (transceiver.mid !== null ? this.remoteSources.get(transceiver.mid) : undefined) ?? (track.kind === 'audio' ? 'microphone' : 'camera');
    this.handlers.trackAdded(source, track);
    // The sender stopping (direction no longer sends) removes the track from its stream.
    const stream = streams[0];
    if (stream) {
      const onRemove = (event: MediaStreamTrackEvent) => {
        if (event.track !== track) return;
        stream.removeEventListener('removetrack', onRemove);
        this.handlers.trackRemoved(source, track);
      };
      stream.addEventListener('removetrack', onRemove);
    }
  }
}
