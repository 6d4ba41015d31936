import type { RoomConfig, Topology } from '@parley/protocol';
import type { ParticipantAggregates } from './participant.js';
import type { RoomEvent, RoomEventListener } from './room-events.js';
import { Room, type RoomSettings } from './room.js';

/** All rooms of this instance. A room exists while it has participants. */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  private readonly listeners = new Set<RoomEventListener>();

  constructor(private readonly defaults: RoomSettings) {}

  /** Every room's events, in order (webhooks). A listener that throws does not stop the others. */
  onEvent(listener: RoomEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: RoomEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own (the webhook sender logs its own); rooms carry on.
      }
    }
  }

  /**
   * The room, created with the defaults overridden by `config` (from the creator's token) if new.
   * `resumeTopology`: the topology the room had on a node that died (cluster), which an `auto`
   * room starts with.
   */
  getOrCreate(name: string, config: RoomConfig = {}, resumeTopology?: Topology): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(
        name,
        {
          ...this.defaults,
          ...(config.topology ? { topology: config.topology } : {}),
          ...(config.videoCodecs ? { videoCodecs: config.videoCodecs } : {}),
        },
        (event) => this.emit(event),
        resumeTopology,
      );
      this.rooms.set(name, room);
    }
    return room;
  }

  names(): string[] {
    return [...this.rooms.keys()];
  }

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  /** Forgets the room once its last participant has left. */
  releaseIfEmpty(room: Room): boolean {
    if (room.size === 0 && this.rooms.get(room.name) === room) {
      this.rooms.delete(room.name);
      room.finished();
      return true;
    }
    return false;
  }

  /** Per participant aggregates of every room, for the metrics endpoint. */
  participantAggregates(now = Date.now()): Array<ParticipantAggregates & { room: string }> {
    return [...this.rooms.values()].flatMap((room) => room.participantList().map((p) => ({ room: room.name, ...p.aggregates(now) })));
  }

  /** Rooms and participants by each room's current topology (Prometheus gauges). */
  countByTopology(): Partial<Record<Topology, { rooms: number; participants: number }>> {
    const counts: Partial<Record<Topology, { rooms: number; participants: number }>> = {};
    for (const room of this.rooms.values()) {
      const entry = (counts[room.topology] ??= { rooms: 0, participants: 0 });
      entry.rooms += 1;
      entry.participants += room.size;
    }
    return counts;
  }

  stats(): { rooms: number; participants: number } {
    let participants = 0;
    for (const room of this.rooms.values()) participants += room.size;
    return { rooms: this.rooms.size, participants };
  }
}
