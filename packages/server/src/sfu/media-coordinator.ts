import { viaServer, type Topology } from '@parley/protocol';
import { RoomMixers } from '../mcu/room-mixers.js';
import type { MixerVideoSettings } from '../mcu/mixer-main.js';
import type { Logger } from '../logger.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { SfuService } from './sfu-service.js';
import type { TrackCount, TrackTimeline, WorkerStats } from './worker-protocol.js';

/** A room's media timeline (Date.now() times), for `npm run bench:join`. */
export interface MediaTimeline {
  tracks: TrackTimeline[];
  /** When a subscriber's first packet of a track (for video, a keyframe) went out, on the SFU worker's clock as it sent it. */
  delivered: Array<{ trackId: string; publisher: string; subscriber: string; at: number }>;
}

/** Deliveries remembered per room: enough for a benchmark's joins, bounded for a long-lived room. */
const MAX_DELIVERIES_PER_ROOM = 500;

/**
 * Connects rooms (signaling) to the SFU (media): who takes part in a room's SFU media, when an
 * `auto` room moves between P2P and the SFU, and where the SFU's events go. The SFU starts on
 * first use, so P2P-only servers never pay for it.
 */
export class MediaCoordinator {
  /** SFU worker processes restarted after they died (Prometheus `parley_sfu_worker_restarts_total`). */
  workerRestarts = 0;
  private sfu: Promise<SfuService> | undefined;
  private readonly deliveries = new Map<string, MediaTimeline['delivered']>();
  private readonly topologyListeners = new Set<(room: Room, topology: Topology) => void>();
  private readonly restoredListeners = new Set<(room: string) => Promise<void>>();
  /** The mixer processes of MCU rooms and of rooms with `mixed` receivers on the SFU (one per room). */
  readonly mixers: RoomMixers;

  /** The grid the mixers make; null: they mix audio only and video is forwarded per publisher. */
  private readonly mixVideo: MixerVideoSettings | null;

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly startSfu: () => Promise<SfuService>,
    private readonly logger: Logger,
    options: { mixVideo?: MixerVideoSettings | null } = {},
  ) {
    this.mixVideo = options.mixVideo ?? null;
    this.mixers = new RoomMixers({ sfu: () => this.service(), logger, video: this.mixVideo });
  }

  /** Called after an `auto` room moved between P2P and the SFU (the cluster records it). */
  onTopologyChanged(listener: (room: Room, topology: Topology) => void): void {
    this.topologyListeners.add(listener);
  }

  /**
   * Called after a room's media was re-created on a restarted worker, before its participants are
   * told to publish again (`mediaReset`): what attaches there first (a server recording's tap)
   * sees every republished track from its first packet.
   */
  onMediaRestored(listener: (room: string) => Promise<void>): void {
    this.restoredListeners.add(listener);
  }

  /** The SFU, started (and wired to rooms) on first call. */
  service(): Promise<SfuService> {
    this.sfu ??= this.startSfu().then((sfu) => {
      this.wire(sfu);
      return sfu;
    });
    return this.sfu;
  }

  /** After a participant was admitted: join it to the SFU, or move the room to the SFU. */
  async participantJoined(room: Room, participant: Participant): Promise<void> {
    const desired = room.desiredTopology();
    if (desired === 'sfu' && room.topology === 'p2p') return this.switchTopology(room, 'sfu');
    if (viaServer(room.topology)) await this.joinMedia(room, participant);
    this.startMixerIfHeard(room);
  }

  /**
   * Starts the room's mixer (idempotent) when someone hears it: everyone in an `mcu` room, a
   * `mixed` receiver in a room on the SFU. The room's media exists on its worker from the first
   * join: the mixer attaches there. Not awaited: a join does not wait for the mixer's fork
   * (~0.6 s); the audio to mix arrives from publishes, later anyway. Without a mixer the
   * participant is still in the room (and hears nothing): that is logged, not refused.
   */
  private startMixerIfHeard(room: Room): void {
    const heard = room.topology === 'mcu' || (room.topology === 'sfu' && room.participantList().some((p) => p.receive === 'mixed'));
    if (heard) void this.mixers.start(room.name).catch((error: unknown) => this.logger.error("the room's mixer could not be started", { room: room.name, error }));
  }

  /** A participant's signaling reconnected: re-send a subscriber offer it may have missed. */
  async participantResumed(room: Room, participant: Participant): Promise<void> {
    if (!viaServer(room.topology) || !this.sfu) return;
    await (await this.sfu).request({ op: 'resendOffer', room: room.name, participant: participant.identity });
  }

  /** After a participant left: leave the SFU, and move an `auto` room back to P2P if configured. */
  async participantLeft(room: Room, participant: Participant, roomReleased: boolean): Promise<void> {
    if (!this.sfu) return;
    const sfu = await this.sfu;
    await sfu.request({ op: 'leave', room: room.name, participant: participant.identity });
    participant.publishedTracks.clear();
    if (roomReleased) {
      this.deliveries.delete(room.name);
      await this.stopMixer(room);
      return sfu.releaseRoom(room.name);
    }
    if (room.topology === 'sfu' && room.desiredTopology() === 'p2p') return this.switchTopology(room, 'p2p');
    // The last `mixed` receiver gone: the mixer process (~100 MB) has no one to mix for.
    if (room.topology === 'sfu' && participant.receive === 'mixed' && !room.participantList().some((p) => p.receive === 'mixed')) await this.stopMixer(room);
  }

  private async stopMixer(room: Room): Promise<void> {
    await this.mixers.stop(room.name);
    await (await this.service()).request({ op: 'stopMix', room: room.name });
  }

  /**
   * Holds `room` on the SFU until the returned release is called (a server recording): an `auto`
   * room in P2P moves to the SFU now, and does not move back while held (`sfu` and `mcu` rooms
   * are there already). Undefined for a room whose policy keeps it off the SFU (`p2p`) or that
   * has nobody in it.
   */
  async holdOnSfu(room: Room): Promise<{ sfu: SfuService; release: () => Promise<void> } | undefined> {
    if (room.size === 0 || (!viaServer(room.topology) && room.settings.topology !== 'auto')) return undefined;
    room.sfuHolds += 1;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      room.sfuHolds -= 1;
      if (room.size > 0 && room.topology === 'sfu' && room.desiredTopology() === 'p2p') await this.switchTopology(room, 'p2p');
    };
    try {
      if (room.topology === 'p2p') await this.switchTopology(room, 'sfu');
      return { sfu: await this.service(), release };
    } catch (error) {
      await release().catch(() => undefined);
      throw error;
    }
  }

  private async switchTopology(room: Room, topology: 'p2p' | 'sfu'): Promise<void> {
    const sfu = await this.service();
    if (topology === 'sfu') {
      // Everyone is in the SFU before anyone hears of it, so their first publish finds the room ready.
      await Promise.all(room.participantList().map((p) => this.joinMedia(room, p)));
    } else {
      // A direct call has no mix (`mixed` receivers hear the others' own tracks there).
      await this.stopMixer(room);
      for (const participant of room.participantList()) {
        await sfu.request({ op: 'leave', room: room.name, participant: participant.identity });
        participant.publishedTracks.clear();
      }
      sfu.releaseRoom(room.name);
      this.deliveries.delete(room.name);
      // Nobody detects speakers in a direct call: the SDKs clear theirs on topologyChanged.
      room.activeSpeakers = [];
    }
    room.topology = topology;
    if (topology === 'sfu') this.startMixerIfHeard(room);
    this.logger.info('room topology changed', { room: room.name, topology, participants: room.size });
    room.broadcast({ type: 'topologyChanged', topology });
    for (const listener of this.topologyListeners) listener(room, topology);
  }

  private async joinMedia(room: Room, participant: Participant): Promise<void> {
    const sfu = await this.service();
    await sfu.request({
      op: 'join',
      room: room.name,
      participant: participant.identity,
      name: participant.name,
      canSubscribe: participant.grants.canSubscribe,
      decodes: participant.decodes,
      ...(participant.receive === 'mixed' ? { mixed: true } : {}),
      config: { videoCodecs: room.settings.videoCodecs, ...(room.topology === 'mcu' ? { mixAudio: true } : {}), ...(this.mixVideo ? { mixVideo: true, mixVideoTierKbps: this.mixVideo.tiers.map((tier) => tier.bitrateKbps) } : {}) },
    });
  }

  private wire(sfu: SfuService): void {
    const participantOf = (roomName: string, identity: string) => {
      const room = this.rooms.get(roomName);
      return room && viaServer(room.topology) ? room.get(identity) : undefined;
    };
    sfu.on('offer', (roomName, identity, sdp, tracks, offerId) => {
      participantOf(roomName, identity)?.link.send({ type: 'subscriberOffer', sdp, tracks, offerId });
    });
    sfu.on('layersWanted', (roomName, identity, trackId, rids) => {
      participantOf(roomName, identity)?.link.send({ type: 'layersWanted', trackId, rids });
    });
    sfu.on('delivered', (roomName, identity, trackId, subscriber, at) => {
      this.recordDelivery(roomName, { trackId, publisher: identity, subscriber, at });
      participantOf(roomName, identity)?.link.send({ type: 'trackDelivered', trackId, to: subscriber });
    });
    sfu.on('activeSpeakers', (roomName, speakers) => {
      const room = this.rooms.get(roomName);
      if (!room || !viaServer(room.topology)) return;
      room.activeSpeakers = speakers.filter((s) => room.get(s));
      room.broadcast({ type: 'activeSpeakers', speakers: [...room.activeSpeakers] });
    });
    sfu.on('roomsLost', (names) => {
      this.workerRestarts += 1;
      for (const name of names) void this.recover(name);
    });
  }

  /** A worker died with this room's media: rejoin everyone on a live worker and have them republish. */
  private async recover(name: string): Promise<void> {
    const room = this.rooms.get(name);
    if (!room || !viaServer(room.topology)) return;
    this.logger.warn('restoring room media after an SFU worker restart', { room: name });
    try {
      for (const participant of room.participantList()) participant.publishedTracks.clear();
      await Promise.all(room.participantList().map((p) => this.joinMedia(room, p)));
      await this.mixers.reattach(name);
      await Promise.all(
        [...this.restoredListeners].map((listener) => listener(name).catch((error: unknown) => this.logger.error('a listener of restored room media failed', { room: name, error }))),
      );
      room.broadcast({ type: 'mediaReset' });
    } catch (error) {
      this.logger.error('could not restore room media', { room: name, error });
    }
  }

  /** Totals over all SFU workers (zeros while the SFU has not started). */
  async sfuStats(room?: string): Promise<WorkerStats> {
    const totals: WorkerStats = {
      rooms: 0, publishedTracks: 0, downstreams: 0, packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0,
      nacksToPublishers: 0, transportFeedbacks: 0, paddingDropped: 0, subscriberFeedbacks: 0, probePackets: 0, uplinkCollapses: 0, mixedPackets: 0, mixLatencyMsTotal: 0, cpuSeconds: 0, eventLoopLagSeconds: 0, loopStalls: 0, tracks: [],
    };
    if (!this.sfu) return totals;
    const tracks = new Map<string, TrackCount>();
    for (const worker of await (await this.sfu).stats(room)) {
      for (const key of Object.keys(totals) as (keyof WorkerStats)[]) if (key !== 'tracks' && key !== 'eventLoopLagSeconds') totals[key] += worker[key];
      totals.eventLoopLagSeconds = Math.max(totals.eventLoopLagSeconds, worker.eventLoopLagSeconds);
      for (const count of worker.tracks) {
        const sum = tracks.get(`${count.kind}/${count.codec}`) ?? { ...count, published: 0, subscribed: 0 };
        sum.published += count.published;
        sum.subscribed += count.subscribed;
        tracks.set(`${count.kind}/${count.codec}`, sum);
      }
    }
    return { ...totals, tracks: [...tracks.values()] };
  }

  /**
   * Internal, for tests and benchmarks: holds a participant's downlink estimate at most `bps`
   * (null lifts it), as if its link carried no more: what it is sent then follows (simulcast
   * layers, an MCU grid's tier) without shaping its network.
   */
  async capDownlink(room: string, participant: string, bps: number | null): Promise<void> {
    if (!this.sfu) throw new Error('the SFU has not started');
    await (await this.sfu).request({ op: 'capDownlink', room, participant, bps });
  }

  /** Where a room's SFU media stands: its tracks' first packets and the deliveries to subscribers. */
  async timeline(room: string): Promise<MediaTimeline> {
    const tracks = this.sfu ? await (await this.sfu).request({ op: 'timeline', room }) : [];
    return { tracks, delivered: [...(this.deliveries.get(room) ?? [])] };
  }

  private recordDelivery(room: string, delivery: MediaTimeline['delivered'][number]): void {
    let list = this.deliveries.get(room);
    if (!list) this.deliveries.set(room, (list = []));
    if (list.length < MAX_DELIVERIES_PER_ROOM) list.push(delivery);
  }

  async close(): Promise<void> {
    await this.mixers.close();
    if (!this.sfu) return;
    const sfu = await this.sfu.catch(() => undefined);
    await sfu?.close();
  }
}
