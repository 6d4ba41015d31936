import { TrackSource, type Topology } from '@parley/protocol';
import type { VideoProfile } from './adaptive-bitrate.js';
import type { CameraSampleRecord } from './media-monitor.js';
import type { ConnectionState } from './room-types.js';
import { statsUnlessClosed } from './stats.js';

/**
 * `room.debugState()`: internal and unstable. What the room holds, as plain data (JSON-safe), for
 * tests and debugging, like mediasoup's `dump()`. Fields change without notice; apps use the
 * public API.
 */
export interface RoomDebugState {
  state: ConnectionState;
  topology: Topology | undefined;
  localIdentity: string;
  cameraProfile: VideoProfile;
  /** The adaptive bitrate's last samples (up to 10, every 2 s), oldest first: why the camera did or did not change profile. */
  cameraSamples: CameraSampleRecord[];
  /** One direct connection per remote participant (P2P, and during a move to the SFU). */
  links: LinkDebugState[];
  /** Media through the SFU; undefined while the room is not on the SFU. */
  sfu: SfuDebugState | undefined;
}

export interface LinkDebugState extends ConnectionDebugState {
  remoteIdentity: string;
  /** The id of the track each sending source carries. */
  senders: Partial<Record<TrackSource, string>>;
  /** How often a video encoder held back below its resolution was restarted (`p2p/encoder-watch.ts`). */
  encoderRestarts: number;
}

export interface SfuDebugState {
  /** Numbered like connections: a new SFU session (after a move, a `mediaReset`) has a new id. */
  id: number;
  /** One sending connection per published source. */
  publications: PublicationDebugState[];
  /** The receiving connection, once the SFU offered one. */
  subscriber: ConnectionDebugState | undefined;
}

export interface PublicationDebugState extends ConnectionDebugState {
  source: TrackSource;
  /** The id the SFU gave the track, once it answered. */
  trackId: string | undefined;
  /** The id of the track the sender carries. */
  senderTrackId: string | undefined;
}

export interface ConnectionDebugState {
  /** Numbered in creation order within the page: a replaced connection has a new id. */
  id: number;
  signalingState: RTCSignalingState;
  iceConnectionState: RTCIceConnectionState;
  connectionState: RTCPeerConnectionState;
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  /** The remote candidate of the selected pair. */
  selectedRemoteCandidate: CandidateDebugState | undefined;
  /** The local candidate of the selected pair (for a relay: over which protocol it reaches TURN). */
  selectedLocalCandidate: CandidateDebugState | undefined;
  /** Every local candidate gathered (host ports, srflx mappings, the relay ports TURN allocated). */
  localCandidates: CandidateDebugState[];
  /** The username of the TURN server this connection is configured with (REST credentials: `<expiry>:<user>`). */
  turnUsername: string | undefined;
  /** Every RTP stream's raw counters, attributed to a participant or not. */
  rtp: RtpDebugState[];
}

export interface CandidateDebugState {
  address: string | undefined;
  port: number | undefined;
  candidateType: string | undefined;
  /** Local relay candidates: `udp`, `tcp` or `tls` to the TURN server. */
  relayProtocol: string | undefined;
}

export interface RtpDebugState {
  /** The stats report's id: stable for the stream's life on this connection. */
  id: string;
  direction: 'inbound' | 'outbound';
  kind: string | undefined;
  mid: string | undefined;
  ssrc: number | undefined;
  rid: string | undefined;
  packets: number | undefined;
  packetsLost: number | undefined;
  bytes: number | undefined;
  frames: number | undefined;
  keyFrames: number | undefined;
  pliCount: number | undefined;
  qualityLimitationReason: string | undefined;
  /** Inbound: seconds samples or frames spent in the jitter buffer, summed over `jitterBufferEmittedCount` of them. */
  jitterBufferDelay: number | undefined;
  jitterBufferEmittedCount: number | undefined;
}

/** The parts of an RTCPeerConnection a snapshot reads. */
export type DebuggedConnection = Pick<RTCPeerConnection, 'signalingState' | 'iceConnectionState' | 'connectionState' | 'localDescription' | 'remoteDescription' | 'getStats' | 'getConfiguration'>;

/** What the room hands over to be described (`PeerLink`s and the `SfuConnection` fit). */
export interface RoomParts {
  state: ConnectionState;
  topology: Topology | undefined;
  localIdentity: string;
  cameraProfile: VideoProfile;
  cameraSamples?: readonly CameraSampleRecord[];
  links: Iterable<{ pc: DebuggedConnection; remoteIdentity: string; encoderRestarts: number; senderOf(source: TrackSource): { track: { id: string } | null } | undefined }>;
  sfu:
    | {
        publications: ReadonlyMap<TrackSource, { pc: DebuggedConnection; trackId: string | undefined; sender: { track: { id: string } | null } }>;
        subscriber: DebuggedConnection | undefined;
      }
    | undefined;
}

/** What a snapshot reads. */
export interface DebugStateOptions {
  /**
   * Read every connection's getStats() (default true): fills `rtp` and `selectedRemoteCandidate`.
   * Off, a snapshot costs no stats call, so a test may poll it (e.g. for a link to close) without
   * adding getStats() load to the connections it watches; `rtp` is then empty.
   */
  stats?: boolean;
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** A number for `object` that stays the same while it lives: how a snapshot tells a replaced connection. */
function idOf(object: object): number {
  let id = ids.get(object);
  if (id === undefined) {
    id = nextId++;
    ids.set(object, id);
  }
  return id;
}

export async function roomDebugState(parts: RoomParts, options: DebugStateOptions = {}): Promise<RoomDebugState> {
  const stats = options.stats ?? true;
  const links = Promise.all(
    [...parts.links].map(async (link): Promise<LinkDebugState> => {
      const senders: Partial<Record<TrackSource, string>> = {};
      for (const source of TrackSource.options) {
        const trackId = link.senderOf(source)?.track?.id;
        if (trackId !== undefined) senders[source] = trackId;
      }
      return { ...(await connectionDebugState(link.pc, stats)), remoteIdentity: link.remoteIdentity, senders, encoderRestarts: link.encoderRestarts };
    }),
  );
  return { state: parts.state, topology: parts.topology, localIdentity: parts.localIdentity, cameraProfile: parts.cameraProfile, cameraSamples: [...(parts.cameraSamples ?? [])], links: await links, sfu: parts.sfu && (await sfuDebugState(parts.sfu, stats)) };
}

async function sfuDebugState(sfu: NonNullable<RoomParts['sfu']>, stats: boolean): Promise<SfuDebugState> {
  const publications = Promise.all(
    [...sfu.publications].map(
      async ([source, publication]): Promise<PublicationDebugState> => ({
        ...(await connectionDebugState(publication.pc, stats)),
        source,
        trackId: publication.trackId,
        senderTrackId: publication.sender.track?.id,
      }),
    ),
  );
  const subscriber = sfu.subscriber && connectionDebugState(sfu.subscriber, stats);
  return { id: idOf(sfu), publications: await publications, subscriber: await subscriber };
}

async function connectionDebugState(pc: DebuggedConnection, stats: boolean): Promise<ConnectionDebugState> {
  const id = idOf(pc);
  const { signalingState, iceConnectionState, connectionState } = pc;
  const localSdp = pc.localDescription?.sdp;
  const remoteSdp = pc.remoteDescription?.sdp;
  const reports = new Map<string, Record<string, unknown>>();
  if (stats) (await statsUnlessClosed(pc))?.forEach((report: Record<string, unknown> & { id: string }) => reports.set(report.id, report));
  const rtp: RtpDebugState[] = [];
  const localCandidates: CandidateDebugState[] = [];
  for (const report of reports.values()) {
    if (report['type'] === 'inbound-rtp' || report['type'] === 'outbound-rtp') rtp.push(rtpDebugState(report));
    if (report['type'] === 'local-candidate') localCandidates.push(candidate(report));
  }
  const pair = selectedPair(reports);
  const local = pair && reports.get(String(pair['localCandidateId']));
  const remote = pair && reports.get(String(pair['remoteCandidateId']));
  const turn = pc.getConfiguration().iceServers?.find((server) => [server.urls].flat().some((url) => url.startsWith('turn')));
  return {
    id,
    signalingState,
    iceConnectionState,
    connectionState,
    localSdp,
    remoteSdp,
    selectedRemoteCandidate: remote && candidate(remote),
    selectedLocalCandidate: local && candidate(local),
    localCandidates,
    turnUsername: turn?.username,
    rtp,
  };
}

/**
 * The pair ICE uses: the transport's `selectedCandidatePairId` (Chromium), else the pair marked
 * `selected` (Firefox has no transport report), else a nominated pair that succeeded.
 */
function selectedPair(reports: ReadonlyMap<string, Record<string, unknown>>): Record<string, unknown> | undefined {
  const all = [...reports.values()];
  const transportPick = all.find((r) => r['type'] === 'transport')?.['selectedCandidatePairId'];
  const byTransport = typeof transportPick === 'string' ? reports.get(transportPick) : undefined;
  return (
    byTransport ??
    all.find((r) => r['type'] === 'candidate-pair' && r['selected'] === true) ??
    all.find((r) => r['type'] === 'candidate-pair' && r['state'] === 'succeeded' && r['nominated'] === true)
  );
}

function candidate(report: Record<string, unknown>): CandidateDebugState {
  // Chromium names the address `address`, older Firefox `ip`.
  return { address: text(report['address']) ?? text(report['ip']), port: number(report['port']), candidateType: text(report['candidateType']), relayProtocol: text(report['relayProtocol']) };
}

function rtpDebugState(report: Record<string, unknown>): RtpDebugState {
  const inbound = report['type'] === 'inbound-rtp';
  return {
    id: String(report['id']),
    direction: inbound ? 'inbound' : 'outbound',
    // Older browsers name the kind `mediaType`.
    kind: text(report['kind']) ?? text(report['mediaType']),
    mid: text(report['mid']),
    ssrc: number(report['ssrc']),
    rid: text(report['rid']),
    packets: number(report[inbound ? 'packetsReceived' : 'packetsSent']),
    packetsLost: number(report['packetsLost']),
    bytes: number(report[inbound ? 'bytesReceived' : 'bytesSent']),
    frames: number(report[inbound ? 'framesDecoded' : 'framesEncoded']),
    keyFrames: number(report[inbound ? 'keyFramesDecoded' : 'keyFramesEncoded']),
    pliCount: number(report['pliCount']),
    qualityLimitationReason: text(report['qualityLimitationReason']),
    jitterBufferDelay: number(report['jitterBufferDelay']),
    jitterBufferEmittedCount: number(report['jitterBufferEmittedCount']),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
