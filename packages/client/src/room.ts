// Why this file is ~620 lines: `Room` is the hub an application holds, the one place that sees the
// participants, the direct links, the SFU connection and the local tracks together. Every concern
// that needs only callbacks has its own file (signal-session, media-monitor, topology-move, node-handover, sfu/,
// p2p/, recording/, debug-state); what stays here is the wiring between them.
import { viaServer, type LeaveReason, type ParticipantInfo, type RoomInfo, type SignalPayload, type SubscribedTrack, type Topology, type TrackSource, type VideoQuality } from '@parley/protocol';
import { ParleyError } from './errors.js';
import { TypedEmitter } from './events.js';
import { LocalParticipant } from './local-participant.js';
import { PeerLink } from './p2p/peer-link.js';
import { RemoteParticipant } from './participant.js';
import { applyProfile, DefaultBitratePolicy, type VideoProfile } from './adaptive-bitrate.js';
import { CallQualityReporter, QUALITY_REPORT_INTERVAL_MS, watchFirstFrame } from './call-quality-reporter.js';
import { MediaMonitor } from './media-monitor.js';
import { SfuConnection } from './sfu/sfu-connection.js';
import type { ServerEvent, SignalClient } from './signal-client.js';
import { SignalSession, type ConnectOptions, type Joined } from './signal-session.js';
import type { ConnectionState, RoomEvents, RoomOptions } from './room-types.js';
import { StatsSampler, type TrackStats } from './stats.js';
import { Timeline } from './timeline.js';
import { TopologyMove } from './topology-move.js';
import { NodeHandover, whenShowingFrames } from './node-handover.js';
import { log } from './log.js';
import { httpBase, RoomRecordings, type BrowserRecordingOptions, type RecordingOptions, type ServerRecordingOptions, type StartedBrowserRecording, type StartedRecording, type StartedServerRecording } from './recording/room-recordings.js';
import type { RecordingSummary } from '@parley/protocol';
import type { RecordingFileListing, RecordingListing } from './recording/recordings-api.js';
import type { ResumedRecording } from './recording/upload-resume.js';
import { roomDebugState, type DebugStateOptions, type RoomDebugState } from './debug-state.js';

export type { ConnectionState, RoomEvents, RoomOptions, TrackEvent, ParticipantTrackEvent, MixTrackEvent } from './room-types.js';
export type { ConnectOptions } from './signal-session.js';

/** How long disconnect() waits for this participant's recordings' uploads to complete (they go on after it). */
const FINISH_RECORDINGS_MS = 10_000;

/**
 * A call. Connect with a token. The room keeps the participants, one PeerLink per remote
 * participant in a P2P room (or the SFU connection in an SFU room), publishing, and the events;
 * it composes the signaling session (`SignalSession`), the stats loop (`MediaMonitor`) and the
 * make-before-break bookkeeping of a move to the SFU (`TopologyMove`) and of a rejoin on another
 * node (`NodeHandover`).
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly localParticipant: LocalParticipant;
  readonly remoteParticipants = new Map<string, RemoteParticipant>();
  /** When each connection step happened (debug; `npm run bench:join` reads it). */
  readonly timeline = new Timeline();
  private connectionState: ConnectionState = 'disconnected';
  private info: RoomInfo | undefined;
  /** Signaling: the WebSocket, heartbeat, reconnects, TURN credentials. Set from the join to the end. */
  private session: SignalSession | undefined;
  private readonly links = new Map<string, PeerLink>();
  private sfu: SfuConnection | undefined;
  /** In an `mcu` room: the mix this participant hears (everyone else's voices). */
  /** The server's mixes for this participant (`mcu` rooms, `receive: 'mixed'`): its audio and its video grid. */
  private readonly mixTracks = new Map<'audio' | 'video', MediaStreamTrack>();
  /** Make before break from P2P to the SFU: which direct links the SFU has made redundant. */
  private readonly move = new TopologyMove({
    links: this.links,
    onSfu: () => this.info !== undefined && viaServer(this.info.topology),
    remoteTrackCount: (identity) => this.remoteParticipants.get(identity)?.tracks.size,
    publishedTrackIds: () => this.sfu?.publishedTrackIds() ?? [],
  });
  /** Make before break when the membership starts over on another node (a drain): the old SFU connection stays until the new one carries everyone. */
  private readonly handover = new NodeHandover<RemoteParticipant, SfuConnection>({
    participants: this.remoteParticipants,
    publishedTrackIds: () => this.sfu?.publishedTrackIds() ?? [],
    publishing: () => this.localParticipant.tracks.size > 0,
    leave: (identity) => this.removeParticipant(identity, 'disconnected'),
    unsubscribe: (participant, source, track) => this.unsubscribe(participant, source, track),
  });
  private readonly sampler = new StatsSampler();
  /** Adaptive bitrate and this participant's connection quality, from getStats every 2 s. */
  private readonly monitor: MediaMonitor;
  private readonly qualityReporter: CallQualityReporter | undefined;
  /** performance.now() of connect() and of when there was someone to see. */
  private connectedAt = 0;
  private mediaWantedAt: number | undefined;
  private firstFrameWatched = false;
  /** The server and token of `connect()`: recordings upload there with it. */
  private credentials: { url: string; token: string } | undefined;
  private speakers: readonly string[] = [];
  private readonly recordings = new RoomRecordings({
    endpoint: () => {
      if (!this.credentials || !this.info) throw new ParleyError('NOT_CONNECTED', 'connect to the room before recording');
      return { baseUrl: httpBase(this.credentials.url), token: this.credentials.token, room: this.info.name, identity: this.localParticipant.identity };
    },
    localTracks: () => ['camera', 'microphone'].flatMap((source) => this.localParticipant.tracks.get(source as TrackSource) ?? []),
    localName: () => this.localParticipant.name || this.localParticipant.identity,
    callTracks: () => {
      // In an `mcu` room the others' voices are the one mix.
      const all = [...this.localParticipant.tracks.values(), ...[...this.remoteParticipants.values()].flatMap((p) => [...p.tracks.values()].flatMap((t) => (t.track ? [t.track] : []))), ...this.mixTracks.values()];
      return { video: all.filter((t) => t.kind === 'video'), audio: all.filter((t) => t.kind === 'audio') };
    },
    acknowledged: (id, bytes) => this.emit('recordingProgress', { id, acknowledgedBytes: bytes }),
    failed: (id, error) => this.emit('recordingFailed', { id, error }),
  });

  constructor(private readonly options: RoomOptions = {}) {
    super();
    this.qualityReporter =
      options.qualityReports === false
        ? undefined
        : new CallQualityReporter(options.qualityReports?.intervalMs ?? QUALITY_REPORT_INTERVAL_MS, (report) => {
            this.signal?.request({ type: 'qualityReport', report }).catch((error: unknown) => log.debug('a quality report was not delivered', error));
          });
    this.monitor = new MediaMonitor({
      bitratePolicy: options.adaptiveBitrate === false ? undefined : (options.adaptiveBitrate?.policy ?? new DefaultBitratePolicy()),
      qualityReporter: this.qualityReporter,
      collectStats: (sampler) => this.collectStats(sampler),
      isConnected: () => this.connectionState === 'connected',
      applyCameraProfile: (profile) => this.applyCameraProfile(profile),
      bitrateChanged: (decision) => this.emit('adaptiveBitrateChanged', decision),
      qualityChanged: async (quality) => {
        this.emit('connectionQualityChanged', quality, undefined);
        await this.signal?.request({ type: 'setConnectionQuality', quality }).catch((error: unknown) => log.debug('the connection quality was not delivered', error));
      },
    });
    this.localParticipant = new LocalParticipant(
      {
        publish: (source, track) => this.publishLocal(source, track),
        unpublish: (source, track) => this.unpublishLocal(source, track),
      },
      options.capture,
    );
  }

  /** The signaling connection requests go through (undefined before the join and after the end). */
  private get signal(): SignalClient | undefined {
    return this.session?.current;
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
   * Identities speaking now, loudest first, as the server last announced them (SFU and MCU rooms;
   * may include yourself): the server tells a newcomer at once, then every change
   * (`activeSpeakersChanged`). Empty in a direct call and once disconnected.
   */
  get activeSpeakers(): readonly string[] {
    return this.speakers;
  }

  /**
   * Joins the room named by the token. `url` is the server's base URL (http(s)://host:port) or
   * its WebSocket endpoint (ws(s)://host:port/ws). `options.room` makes the server check that the
   * token is for that room.
   */
  async connect(url: string, token: string, options: ConnectOptions = {}): Promise<void> {
    if (this.connectionState !== 'disconnected') throw new ParleyError('ALREADY_JOINED', `the room is ${this.connectionState}`);
    this.setState('connecting');
    this.credentials = { url, token };
    this.timeline.mark('connect');
    this.connectedAt = performance.now();
    try {
      const session = new SignalSession({
        url,
        token,
        connect: options,
        reconnectPolicy: this.options.reconnectPolicy,
        handlers: {
          event: (event) => this.onServerEvent(event),
          reconnecting: () => this.setState('reconnecting'),
          reconnected: (joined) => this.onReconnected(joined),
          ended: (error) => this.end(error),
          iceServersRenewed: () => {
            for (const link of this.links.values()) {
              try {
                link.renewIceServers(this.rtcConfiguration().iceServers ?? []);
              } catch (error) {
                this.emit('error', new ParleyError('NEGOTIATION_FAILED', `new ICE servers refused for ${link.remoteIdentity}: ${(error as Error).message}`, { cause: error }));
              }
            }
          },
          error: (error) => this.emit('error', error),
        },
      });
      // Announced with the join, so the others' participantJoined already shows the camera as on.
      const joined = await session.join(() => [...this.localParticipant.tracks.keys()]);
      this.session = session;
      this.timeline.mark('joined');
      this.qualityReporter?.milestone('joinMs', performance.now() - this.connectedAt);
      if (joined.participants.length > 0) this.mediaWantedAt = this.connectedAt;
      this.info = joined.room;
      this.localParticipant.identity = joined.participant.identity;
      this.localParticipant.name = joined.participant.name;
      this.localParticipant.grants = joined.participant.grants;
      // Captured before joining with a token that turns out not to publish: release the devices.
      if (!joined.participant.grants.canPublish) this.localParticipant.stopAll();
      for (const info of joined.participants) this.addParticipant(info, false);
      this.setState('connected');
      if (viaServer(joined.room.topology)) this.startSfu();
      // Tracks captured before the join were announced with it; a capture that finished meanwhile is announced now.
      const announced = new Set(joined.participant.tracks.map((t) => t.source));
      for (const [source] of this.localParticipant.tracks) if (!announced.has(source)) void this.announce(source, false);
      this.monitor.start();
    } catch (error) {
      this.teardown();
      throw error instanceof ParleyError ? error : new ParleyError('CONNECTION_FAILED', (error as Error).message, { cause: error });
    }
  }

  private async applyCameraProfile(profile: VideoProfile): Promise<void> {
    const senders = [...this.links.values()].map((link) => link.senderOf('camera')).filter((s): s is RTCRtpSender => s !== undefined);
    await Promise.all(senders.map((sender) => applyProfile(sender, profile).catch((error: unknown) => log.warn(`the ${profile} camera profile could not be applied to a direct link`, error))));
    await this.sfu?.setCameraProfile(profile).catch((error: unknown) => log.warn(`the ${profile} camera profile could not be applied to the SFU publication`, error));
  }

  /** A reconnect got in: catch up with what happened meanwhile, or start over if the membership was gone. */
  private onReconnected(joined: Joined): void {
    if (joined.resumed) this.reconcile(joined.participants, joined.room);
    else this.rejoin(joined.participants, joined.room);
    this.setState('connected');
  }

  /** After a resume: catch up with joins and leaves that happened while the connection was down. */
  private reconcile(participants: ParticipantInfo[], room: RoomInfo): void {
    const present = new Set(participants.map((p) => p.identity));
    for (const identity of [...this.remoteParticipants.keys()]) if (!present.has(identity)) this.removeParticipant(identity, 'disconnected');
    for (const info of participants) {
      if (this.remoteParticipants.has(info.identity)) this.updateParticipant(info);
      else this.addParticipant(info, true);
    }
    if (room.topology !== this.info?.topology) this.changeTopology(room.topology);
  }

  /**
   * The server forgot this membership (grace over, its node gone or drained): join again with the
   * same tracks. SFU to SFU, the old media plays until the new node carries it (`NodeHandover`).
   */
  private rejoin(participants: ParticipantInfo[], room: RoomInfo): void {
    if (this.sfu && this.info?.topology === room.topology && viaServer(room.topology)) {
      this.handover.begin(this.sfu, this.remoteParticipants.keys());
      this.sfu = undefined;
    } else {
      for (const identity of [...this.remoteParticipants.keys()]) this.removeParticipant(identity, 'disconnected');
      this.stopSfu();
    }
    this.info = room;
    for (const info of participants) this.addParticipant(info, true);
    if (viaServer(room.topology)) this.startSfu();
    for (const [source] of this.localParticipant.tracks) void this.announce(source, false);
  }

  async disconnect(): Promise<void> {
    const session = this.session;
    if (!session?.current) return;
    // Finish this participant's browser recordings while their tracks still run: the last chunk
    // is uploaded and the file is ready at once (not after the server's idle timeout).
    await this.recordings.finishAll(FINISH_RECORDINGS_MS);
    // While reconnecting there is no connection to say goodbye on.
    if (this.connectionState !== 'reconnecting') await session.leave();
    this.teardown();
    this.emit('disconnected');
  }

  /**
   * `browser`: records the call in this browser and uploads it while it records; `tracks`: asks
   * the server to record every track the room publishes on its SFU (docs/recording.md). The token
   * needs the canRecord grant. Everyone in the room gets `recordingChanged`.
   */
  startRecording(options: BrowserRecordingOptions): Promise<StartedBrowserRecording>;
  startRecording(options: ServerRecordingOptions): Promise<StartedServerRecording>;
  startRecording(options: RecordingOptions): Promise<StartedRecording>;
  startRecording(options: RecordingOptions): Promise<StartedRecording> {
    this.requireSignal();
    return this.recordings.start(options);
  }

  /** Stops a recording this participant started; resolves once the server holds every byte (browser) or has closed its raw files (tracks). */
  stopRecording(id: string): Promise<void> {
    return this.recordings.stop(id);
  }

  /**
   * Finishes this participant's browser recordings in this room that a previous page left
   * unfinished (a reload, a closed tab reopened): the chunks the SDK kept in IndexedDB are
   * uploaded from the offset the server acknowledged, and the recording is finished there.
   * Call it after `connect()`; answers what became of each (`completed`, `gone`, `failed`).
   */
  resumeRecordings(): Promise<ResumedRecording[]> {
    this.requireSignal();
    return this.recordings.resume();
  }

  /**
   * Every recording of the room (`GET /api/rooms/{room}/recordings` with this participant's
   * token, which needs canRecord): browser and server ones, with their status and files.
   */
  listRecordings(): Promise<RecordingListing[]> {
    return this.recordings.api.list();
  }

  /**
   * A listed recording file as a Blob (fetched with the token: the files need it, so a plain
   * link cannot download them). Only this room's recording files on this server are fetched.
   */
  downloadRecordingFile(file: string | Pick<RecordingFileListing, 'url'>): Promise<Blob> {
    return this.recordings.api.download(file);
  }

  /** Recordings running in the room now, whoever started them. */
  get activeRecordings(): RecordingSummary[] {
    return this.recordings.active;
  }

  /** Sends an application message to everyone (or `to`) in the room over the signaling channel. */
  async sendData(payload: string, options: { topic?: string; to?: string[] } = {}): Promise<void> {
    await this.requireSignal().request({ type: 'sendData', payload, ...options });
  }

  /** Per-stream statistics for every connection of this room. */
  getStats(): Promise<TrackStats[]> {
    return this.collectStats(this.sampler);
  }

  /** The camera's current adaptive-bitrate profile. */
  get cameraProfile(): VideoProfile {
    return this.monitor.cameraProfile;
  }

  /**
   * Internal and unstable, for tests and debugging: a JSON-safe snapshot of the room's connections
   * (direct links, SFU publications and receiving connection, with their states, SDPs and raw RTP
   * counters), like mediasoup's `dump()`. The shape changes without notice.
   */
  debugState(options?: DebugStateOptions): Promise<RoomDebugState> {
    return roomDebugState({
      state: this.connectionState,
      topology: this.topology,
      localIdentity: this.localParticipant.identity,
      cameraProfile: this.cameraProfile,
      cameraSamples: this.monitor.cameraSamples,
      links: this.links.values(),
      sfu: this.sfu,
    }, options);
  }

  private async collectStats(sampler: StatsSampler): Promise<TrackStats[]> {
    const p2p = [...this.links.values()].map((link) =>
      sampler.sample(link.pc, (mid, direction) => {
        const transceiver = link.pc.getTransceivers().find((t) => t.mid === mid);
        const track = direction === 'outbound' ? transceiver?.sender.track : transceiver?.receiver.track;
        return { participant: link.remoteIdentity, source: track ? (this.localParticipant.sourceOf(track) ?? this.remoteParticipants.get(link.remoteIdentity)?.sourceOf(track)) : undefined };
      }),
    );
    const sfu = [this.sfu, this.handover.retiring].flatMap((c) => c?.connections(this.localParticipant.identity) ?? []).map(({ pc, describe }) => sampler.sample(pc, describe));
    return (await Promise.all([...p2p, ...sfu])).flat();
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
      case 'subscriberOffer':
        return this.sfu?.receiveOffer(event.sdp, event.tracks, event.offerId);
      case 'layersWanted':
        return void this.sfu?.setLayersWanted(event.trackId, event.rids).catch((error: Error) => this.emit('error', new ParleyError('NEGOTIATION_FAILED', error.message, { cause: error })));
      case 'activeSpeakers':
        return this.setActiveSpeakers(event.speakers);
      case 'connectionQuality': {
        const participant = this.remoteParticipants.get(event.identity);
        if (!participant) return;
        participant.connectionQuality = event.quality;
        return this.emit('connectionQualityChanged', event.quality, participant);
      }
      case 'trackDelivered':
        this.handover.delivered(event.trackId, event.to);
        return this.move.delivered(event.trackId, event.to);
      case 'topologyChanged':
        return this.changeTopology(event.topology);
      case 'mediaReset':
        this.stopSfu();
        return this.startSfu();
      case 'recordingChanged':
        this.recordings.update(event.recording);
        return this.emit('recordingChanged', event.recording);
      case 'data':
        return this.emit('dataReceived', { from: event.from, payload: event.payload, ...(event.topic === undefined ? {} : { topic: event.topic }) });
      case 'error':
        return;
    }
  }

  private addParticipant(info: ParticipantInfo, announce: boolean): void {
    // Back after a rejoin elsewhere: the same participant, still shown from the old node.
    if (this.handover.returned(info.identity)) return this.updateParticipant(info);
    // The server announces a replaced identity as left before it joins again; this only guards order.
    if (this.remoteParticipants.has(info.identity)) this.removeParticipant(info.identity, 'replaced');
    const participant = new RemoteParticipant(info, (p, source, quality) => this.setVideoQuality(p, source, quality));
    this.remoteParticipants.set(info.identity, participant);
    this.mediaWantedAt ??= performance.now();
    if (this.info?.topology === 'p2p') this.connectDirectly(participant);
    if (announce) this.emit('participantJoined', participant);
  }

  private connectDirectly(participant: RemoteParticipant): void {
    const link = this.createLink(participant, participant.grants.canSubscribe ? this.localParticipant.tracks : new Map());
    this.links.set(participant.identity, link);
  }

  private async setVideoQuality(participant: RemoteParticipant, source: TrackSource, quality: VideoQuality): Promise<void> {
    const trackId = this.sfu?.trackIdOf(participant.identity, source);
    if (trackId) await this.sfu!.setVideoQuality(trackId, quality);
  }

  /** Publishes every local track to the SFU and receives everyone through it. */
  private startSfu(): void {
    if (this.sfu || !this.signal) return;
    const sfu: SfuConnection = new SfuConnection({
      // The current signaling connection, while this is the room's SFU connection (not once it is handed over).
      signal: { request: ((message) => (this.sfu === sfu ? this.requireSignal().request(message) : Promise.reject(new ParleyError('NOT_CONNECTED', 'this SFU connection was handed over')))) as SignalClient['request'] },
      configuration: this.rtcConfiguration(),
      timeline: this.timeline,
      handlers: {
        trackAdded: (info, track) => this.sfu === sfu && this.onSfuTrack(info, track),
        trackRemoved: (info, track) => {
          if (info.source === 'mix') return this.setMix(undefined, track);
          const participant = this.remoteParticipants.get(info.participant);
          if (participant) this.unsubscribe(participant, info.source, track);
        },
        failed: (error) => this.sfu === sfu && this.emit('error', new ParleyError('NEGOTIATION_FAILED', `SFU media failed: ${error.message}`, { cause: error })),
      },
    });
    this.sfu = sfu;
    // All at once, the camera first: the server takes publishTrack requests in order, and the
    // camera is what the others wait to see.
    const tracks = [...this.localParticipant.tracks].sort(([a], [b]) => Number(b === 'camera') - Number(a === 'camera'));
    for (const [source, track] of tracks) this.publishToSfu(source, track);
  }

  private stopSfu(): void {
    this.sfu?.close();
    this.sfu = undefined;
    for (const track of [...this.mixTracks.values()]) this.setMix(undefined, track);
  }

  private publishToSfu(source: TrackSource, track: MediaStreamTrack): void {
    this.sfu?.publish(source, track).catch((error: ParleyError) => {
      if (this.sfu) this.emit('error', error instanceof ParleyError ? error : new ParleyError('NEGOTIATION_FAILED', (error as Error).message, { cause: error }));
    });
  }

  private onSfuTrack(info: SubscribedTrack, track: MediaStreamTrack): void {
    if (info.source === 'mix') return this.setMix(track, this.mixTracks.get(track.kind as 'audio' | 'video'));
    const source = info.source;
    const participant = this.remoteParticipants.get(info.participant);
    if (!participant) return;
    // Handed over from another node: the old node's track stays shown until this one shows frames.
    if (this.handover.isOldTrack(participant.tracks.get(source)?.track)) {
      return this.handover.replaceWhenShowing(this.sfu?.subscriber, track, () => this.remoteParticipants.get(info.participant) === participant && this.subscribe(participant, source, track));
    }
    if (!this.links.has(info.participant)) return this.subscribe(participant, source, track);
    // Make before break (the room moved from P2P to the SFU): the direct link's track stays shown until this one shows frames.
    this.move.replaceWhenReady(info.participant, whenShowingFrames(this.sfu?.subscriber, track), () => this.remoteParticipants.get(info.participant) === participant && this.subscribe(participant, source, track));
  }

  private subscribe(participant: RemoteParticipant, source: TrackSource, track: MediaStreamTrack): void {
    this.timeline.mark('trackSubscribed', `${participant.identity}:${source}`);
    participant.setSubscribed(source, track);
    this.emit('trackSubscribed', { track, participant, source });
    if (track.kind === 'video' && !this.firstFrameWatched) this.watchFirstFrame();
  }

  /** A mix of `previous`'s kind: `track` now (undefined: none), `previous` gone (if it was the one shown). */
  private setMix(track: MediaStreamTrack | undefined, previous: MediaStreamTrack | undefined): void {
    if (previous && this.mixTracks.get(previous.kind as 'audio' | 'video') === previous) {
      this.mixTracks.delete(previous.kind as 'audio' | 'video');
      this.emit('trackUnsubscribed', { track: previous, participant: undefined, source: 'mix' });
    }
    if (!track) return;
    this.mixTracks.set(track.kind as 'audio' | 'video', track);
    this.timeline.mark('trackSubscribed', `mix:${track.kind}`);
    this.emit('trackSubscribed', { track, participant: undefined, source: 'mix' });
  }

  /** `track` stopped arriving; nothing happens if the participant shows another one for `source` by now. */
  private unsubscribe(participant: RemoteParticipant, source: TrackSource, track: MediaStreamTrack): void {
    if (participant.tracks.get(source)?.track !== track) return;
    participant.setSubscribed(source, undefined);
    this.emit('trackUnsubscribed', { track, participant, source });
  }

  private watchFirstFrame(): void {
    this.firstFrameWatched = true;
    const signal = this.signal;
    void watchFirstFrame({
      decoded: async () => (await this.collectStats(new StatsSampler())).some((s) => s.direction === 'inbound' && s.kind === 'video' && (s.frames ?? 0) > 0),
      isActive: () => this.signal === signal && signal !== undefined,
      onFrame: (at) => {
        this.timeline.mark('firstFrameDecoded');
        this.qualityReporter?.milestone('firstMediaMs', at - (this.mediaWantedAt ?? this.connectedAt));
      },
    });
  }

  private changeTopology(topology: Topology): void {
    if (!this.info || this.info.topology === topology) return;
    this.handover.end();
    this.info = { ...this.info, topology };
    this.timeline.mark('topologyChanged', topology);
    this.move.reset();
    if (viaServer(topology)) {
      // A direct link that never connected (to the newcomer whose join moved the room: the
      // server announced it while the room was still direct) has no picture to keep until the
      // SFU carries it, and the newcomer, on the SFU, never answers it: closed now rather than
      // held until the overlap's limit. bench:join auto: 20 such offers in 10 runs before, 0
      // after; the join times did not move beyond the machine's noise (805/1143 ms median, the
      // pair seeing the third, against 807/1087).
      for (const [identity, link] of this.links) {
        if (link.everConnected) continue;
        link.close();
        this.links.delete(identity);
      }
      this.startSfu();
      this.move.limitOverlap();
    } else {
      this.stopSfu();
      for (const participant of this.remoteParticipants.values()) if (!this.links.has(participant.identity)) this.connectDirectly(participant);
      // Nobody detects speakers in a direct call (the server cleared its list too).
      this.setActiveSpeakers([]);
    }
    this.emit('topologyChanged', topology);
  }

  private setActiveSpeakers(speakers: readonly string[]): void {
    if (speakers.length === this.speakers.length && speakers.every((identity, i) => identity === this.speakers[i])) return;
    this.speakers = [...speakers];
    this.emit('activeSpeakersChanged', [...speakers]);
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
    for (const [source, { track }] of participant.tracks) if (track) this.unsubscribe(participant, source, track);
    this.emit('participantLeft', participant, reason);
    this.handover.changed();
  }

  private rtcConfiguration(): RTCConfiguration {
    return this.session?.rtcConfiguration(this.options.rtcConfig) ?? { ...this.options.rtcConfig, iceServers: this.options.rtcConfig?.iceServers ?? [] };
  }

  private createLink(participant: RemoteParticipant, tracks: ReadonlyMap<TrackSource, MediaStreamTrack>): PeerLink {
    const identity = participant.identity;
    return new PeerLink({
      remoteIdentity: identity,
      tracks,
      // Both sides must agree who is polite without talking: compare identities.
      polite: this.localParticipant.identity < identity,
      configuration: this.rtcConfiguration(),
      timeline: this.timeline,
      handlers: {
        signal: (payload: SignalPayload) => {
          this.signal?.request({ type: 'signal', to: identity, payload }).catch((error: ParleyError) => {
            if (this.links.has(identity)) this.emit('error', error);
          });
        },
        trackAdded: (source, track) => this.subscribe(participant, source, track),
        trackRemoved: (source, track) => this.unsubscribe(participant, source, track),
        failed: (error) => this.emit('error', new ParleyError('NEGOTIATION_FAILED', `media negotiation with ${identity} failed: ${error.message}`, { cause: error })),
      },
    });
  }

  private async publishLocal(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    // Announced first: the others show the source as on (connecting) while it is being published.
    const announced = this.announce(source, false);
    if (this.sfu) await this.sfu.publish(source, track);
    for (const [identity, link] of this.links) {
      if (this.remoteParticipants.get(identity)?.grants.canSubscribe) await link.publish(source, track);
    }
    this.emit('localTrackPublished', { track, source });
    await announced;
  }

  private async unpublishLocal(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    for (const link of this.links.values()) await link.unpublish(source);
    await this.sfu?.unpublish(source);
    this.emit('localTrackUnpublished', { track, source });
    await this.announce(source, true);
  }

  /** Tells the room whether a source is live or muted (shown on others' tiles). */
  private async announce(source: TrackSource, muted: boolean): Promise<void> {
    if (this.connectionState !== 'connected' || !this.signal) return;
    await this.signal.request({ type: 'setTrackMuted', source, muted }).catch((error: ParleyError) => this.emit('error', error));
  }

  /** The session ended without `disconnect()`: the server ended it, or reconnecting gave up. */
  private end(error: ParleyError): void {
    // The tracks stop below: each recorder hands over its last chunk first, and its upload
    // completes on its own (HTTP, not the signaling connection that just ended).
    void this.recordings.finishAll(FINISH_RECORDINGS_MS);
    this.teardown();
    this.emit('error', error);
    this.emit('disconnected', error);
  }

  private teardown(): void {
    this.session?.close();
    this.session = undefined;
    this.monitor.stop();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.remoteParticipants.clear();
    this.speakers = [];
    this.handover.end();
    this.stopSfu();
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
