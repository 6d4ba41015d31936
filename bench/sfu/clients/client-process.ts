// A synthetic-client process: node-datachannel peers that publish a paced VP8 stream or count
// what they receive. It runs apart from the SFU so that the SFU's CPU figure is its own; the
// benchmark drives it over IPC (see messages.ts) and ends it by PID after each round.
import { PeerConnection, RtcpReceivingSession, Video, type Track } from 'node-datachannel';
import { buildNack, isRtcp, LossTracker, packetIndexOf, parseRtcpFeedback, sequenceDistance, sequenceOf, ssrcOf, Vp8Source } from '../rtp.ts';
import { receiveOnlyAnswer, transportCcIdOf, withTransportCc } from './sdp.ts';
import type { ClientEnvelope, ClientReply, ClientRequest, ClientResult, ClientSettings, PeerState, ReceivedStats } from './messages.ts';

const settings = JSON.parse(process.env.PARLEY_BENCH_CLIENT_SETTINGS ?? 'null') as ClientSettings | null;
if (!settings || !process.send) {
  console.error('client-process.ts is started by the SFU benchmark (bench/sfu/run.ts), not directly');
  process.exit(2);
}

const FRAMES_PER_SECOND = 25;
const KEYFRAME_INTERVAL_SECONDS = 2;
const RETRANSMIT_BUFFER_PACKETS = 1024;
// libsrtp refuses to protect a packet that is older than its replay window (128 packets) than
// the newest one sent, and node-datachannel turns that into a fatal error: stay well inside it.
const MAX_RETRANSMIT_AGE_PACKETS = 100;
const PACING_TICK_MS = 2;
const NACK_TICK_MS = 10;
const LOSS_TRACKING = { retryMs: 40, maxNacksPerPacket: 5, giveUpMs: 1000, maxGap: 500 };
const NEGOTIATION_TIMEOUT_MS = 10_000;

class Publisher {
  readonly pc: PeerConnection;
  readonly track: Track;
  private readonly source: Vp8Source;
  private readonly sentBySequence: (Buffer | undefined)[] = new Array(RETRANSMIT_BUFFER_PACKETS);
  private pacing: NodeJS.Timeout | undefined;
  private lastSequence = 0;
  keyframeRequests = 0;
  retransmitted = 0;

  constructor(name: string, payloadType: number, config: ClientSettings) {
    this.pc = new PeerConnection(name, { iceServers: [], bindAddress: config.bindAddress });
    const ssrc = 0x10000000 + Math.floor(Math.random() * 0x0fffffff);
    const video = new Video('0', 'SendOnly');
    video.addVP8Codec(payloadType);
    video.addSSRC(ssrc, `${name}-cname`, `${name}-stream`, `${name}-video`);
    this.track = this.pc.addTrack(video);
    this.track.onMessage((message) => this.onRtcp(message));
    const packetsPerFrame = Math.round(config.packetsPerSecond / FRAMES_PER_SECOND);
    this.source = new Vp8Source({
      ssrc,
      payloadType,
      payloadBytes: config.payloadBytes,
      packetsPerFrame,
      framesPerSecond: config.packetsPerSecond / packetsPerFrame,
      keyframeIntervalFrames: FRAMES_PER_SECOND * KEYFRAME_INTERVAL_SECONDS,
    });
  }

  get nextPacketIndex(): number {
    return this.source.packetsProduced;
  }

  /** The SFU accepted transport-cc: packets carry the transport-wide sequence from now on. */
  numberTransportWide(id: number): void {
    this.source.numberTransportWide(id);
  }

  /** Sends at the configured rate from now on, catching up after late timer ticks. */
  start(packetsPerSecond: number): void {
    if (this.pacing) return;
    const startedAt = performance.now();
    const firstIndex = this.source.packetsProduced;
    this.pacing = setInterval(() => {
      if (!this.track.isOpen()) return;
      const due = Math.floor(((performance.now() - startedAt) * packetsPerSecond) / 1000);
      while (this.source.packetsProduced - firstIndex < due) {
        const { packet } = this.source.next();
        this.lastSequence = sequenceOf(packet);
        this.sentBySequence[this.lastSequence % RETRANSMIT_BUFFER_PACKETS] = packet;
        // The SFU may close the track between the isOpen check and here (end of a round).
        if (!this.sendOrStop(packet)) return;
      }
    }, PACING_TICK_MS);
  }

  private sendOrStop(packet: Buffer): boolean {
    try {
      this.track.sendMessageBinary(packet);
      return true;
    } catch {
      clearInterval(this.pacing);
      return false;
    }
  }

  private onRtcp(message: Buffer): void {
    if (!isRtcp(message)) return;
    for (const feedback of parseRtcpFeedback(message)) {
      if (feedback.kind === 'keyframe') {
        this.keyframeRequests++;
        this.source.requestKeyframe();
        continue;
      }
      for (const sequence of feedback.sequences) this.retransmit(sequence);
    }
  }

  private retransmit(sequence: number): void {
    const age = sequenceDistance(this.lastSequence, sequence);
    const packet = this.sentBySequence[sequence % RETRANSMIT_BUFFER_PACKETS];
    if (age < 0 || age > MAX_RETRANSMIT_AGE_PACKETS || !packet || sequenceOf(packet) !== sequence || !this.track.isOpen()) return;
    try {
      this.track.sendMessageBinary(packet);
      this.retransmitted++;
    } catch {
      // A send error thrown out of this RTCP callback would abort the process; the packet stays lost.
    }
  }
}

class Subscriber {
  readonly pc: PeerConnection;
  // Held so that the garbage collector never finalizes a track wrapper: that closes the track.
  private readonly tracks: Track[] = [];
  private readonly received: Uint8Array;
  private readonly lossByTrack = new Map<Track, Map<number, LossTracker>>();
  private readonly ssrc = 0x20000000 + Math.floor(Math.random() * 0x0fffffff);
  packetsReceived = 0;
  nacksSent = 0;

  constructor(name: string, config: ClientSettings) {
    this.received = new Uint8Array(config.maxPackets);
    this.pc = new PeerConnection(name, { iceServers: [], bindAddress: config.bindAddress });
    this.pc.onTrack((track) => {
      this.tracks.push(track);
      this.lossByTrack.set(track, new Map());
      track.setMediaHandler(new RtcpReceivingSession());
      track.onMessage((message) => this.onMedia(track, message));
    });
  }

  receivedBetween(fromIndex: number, toIndex: number): number {
    let count = 0;
    for (let index = fromIndex; index < Math.min(toIndex, this.received.length); index++) count += this.received[index]!;
    return count;
  }

  /** Asks again for what is missing, as a browser would (the SFU resends from its buffer). */
  sendNacks(now: number): void {
    for (const [track, streams] of this.lossByTrack) {
      if (!track.isOpen()) continue;
      for (const [mediaSsrc, tracker] of streams) {
        const sequences = tracker.due(now);
        if (sequences.length === 0) continue;
        try {
          track.sendMessageBinary(buildNack(this.ssrc, mediaSsrc, sequences));
          this.nacksSent++;
        } catch {
          // The track closed meanwhile: nothing left to ask for.
        }
      }
    }
  }

  private onMedia(track: Track, message: Buffer): void {
    const index = packetIndexOf(message);
    if (index === undefined) return;
    this.packetsReceived++;
    if (index < this.received.length) this.received[index] = 1;
    const streams = this.lossByTrack.get(track)!;
    const ssrc = ssrcOf(message);
    let tracker = streams.get(ssrc);
    if (!tracker) streams.set(ssrc, (tracker = new LossTracker(LOSS_TRACKING)));
    tracker.onPacket(sequenceOf(message), performance.now());
  }
}

const publishers = new Map<string, Publisher>();
const subscribers = new Map<string, Subscriber>();

function peerConnection(peer: string): PeerConnection {
  const pc = publishers.get(peer)?.pc ?? subscribers.get(peer)?.pc;
  if (!pc) throw new Error(`no peer ${peer} in this client process`);
  return pc;
}

function publisher(peer: string): Publisher {
  const found = publishers.get(peer);
  if (!found) throw new Error(`no publisher ${peer} in this client process`);
  return found;
}

async function handle(request: ClientRequest, config: ClientSettings): Promise<ClientResult> {
  switch (request.type) {
    case 'createPublisher':
      publishers.set(request.peer, new Publisher(request.peer, request.payloadType, config));
      return null;
    case 'createSubscriber':
      subscribers.set(request.peer, new Subscriber(request.peer, config));
      return null;
    case 'createOffer': {
      const pc = peerConnection(request.peer);
      pc.setLocalDescription('offer');
      const offer = await completeLocalDescription(pc, 'have-local-offer');
      return publishers.has(request.peer) ? withTransportCc(offer) : offer;
    }
    case 'acceptOffer': {
      const pc = peerConnection(request.peer);
      pc.setRemoteDescription(request.sdp, 'offer');
      return receiveOnlyAnswer(await completeLocalDescription(pc, 'stable'));
    }
    case 'acceptAnswer': {
      peerConnection(request.peer).setRemoteDescription(request.sdp, 'answer');
      const id = transportCcIdOf(request.sdp);
      if (id !== undefined) publishers.get(request.peer)?.numberTransportWide(id);
      return null;
    }
    case 'addRemoteCandidate':
      peerConnection(request.peer).addRemoteCandidate(request.candidate, request.mid);
      return null;
    case 'peerState':
      return peerState(request.peer);
    case 'startPublishing':
      publisher(request.peer).start(config.packetsPerSecond);
      return null;
    case 'nextPacketIndex':
      return publisher(request.peer).nextPacketIndex;
    case 'publisherStats': {
      const { keyframeRequests, retransmitted } = publisher(request.peer);
      return { keyframeRequests, retransmitted };
    }
    case 'receivedStats':
      return receivedStats(request.peers, request.fromIndex, request.toIndex);
  }
}

function peerState(peer: string): PeerState {
  const pc = peerConnection(peer);
  return {
    connection: pc.state(),
    packetsReceived: subscribers.get(peer)?.packetsReceived ?? 0,
  };
}

function receivedStats(peers: string[], fromIndex: number, toIndex: number): ReceivedStats {
  const found = peers.map((peer) => {
    const subscriber = subscribers.get(peer);
    if (!subscriber) throw new Error(`no subscriber ${peer} in this client process`);
    return subscriber;
  });
  return {
    inWindow: found.map((subscriber) => subscriber.receivedBetween(fromIndex, toIndex)),
    nacksSent: found.map((subscriber) => subscriber.nacksSent),
  };
}

/** The local SDP once ICE gathering is done, so it carries every candidate (no trickle needed). */
async function completeLocalDescription(pc: PeerConnection, signalingState: string): Promise<string> {
  const deadline = Date.now() + NEGOTIATION_TIMEOUT_MS;
  while (pc.signalingState() !== signalingState || pc.gatheringState() !== 'complete') {
    if (Date.now() > deadline) {
      throw new Error(`negotiation stuck: signaling ${pc.signalingState()}, gathering ${pc.gatheringState()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const description = pc.localDescription();
  if (!description) throw new Error('no local description after negotiation');
  return description.sdp;
}

setInterval(() => {
  const now = performance.now();
  for (const subscriber of subscribers.values()) subscriber.sendNacks(now);
}, NACK_TICK_MS);

process.on('message', (envelope: ClientEnvelope) => {
  handle(envelope.request, settings)
    .then((result): ClientReply => ({ id: envelope.id, ok: true, result }))
    .catch((error: unknown): ClientReply => ({ id: envelope.id, ok: false, error: error instanceof Error ? error.message : String(error) }))
    .then((reply) => process.send?.(reply));
});
// The benchmark ends this process by PID; if the benchmark itself dies, go too.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
