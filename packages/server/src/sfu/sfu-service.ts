import type { SubscribedTrack, WorkerRequest, WorkerResults, WorkerStats } from './worker-protocol.js';

export interface SfuEvents {
  /** A new subscriber offer for `participant` (tracks added or removed). */
  offer: (room: string, participant: string, sdp: string, tracks: SubscribedTrack[], offerId: number) => void;
  activeSpeakers: (room: string, speakers: string[]) => void;
  delivered: (room: string, participant: string, trackId: string, subscriber: string, at: number) => void;
  layersWanted: (room: string, participant: string, trackId: string, rids: string[]) => void;
  /** The media of these rooms was lost (worker crash); their participants must publish and subscribe again. */
  roomsLost: (rooms: string[]) => void;
}

/** A request about one room's media (every worker request but the node-wide `stats`). */
export type RoomRequest = Exclude<WorkerRequest, { op: 'stats' }>;
export type RoomOp = RoomRequest['op'];
export type RoomRequestOf<Op extends RoomOp> = Extract<RoomRequest, { op: Op }>;

/**
 * The media plane as signaling sees it. The implementation (worker processes running
 * libdatachannel today) can change without touching rooms or sessions.
 *
 * One typed request object travels unchanged from the signaling session to the worker's room
 * router (`{ op: 'publish', room, participant, trackId, source, sdp }`), the way mediasoup's
 * `Channel.request(method, handlerId, data)` does: no layer turns it into positional arguments
 * and back, so a layer that carries it elsewhere (another node, later) passes it as is.
 */
export interface SfuService {
  /**
   * Sends a room request to the worker holding the room: `join` places the room on a worker
   * first; `leave` and `timeline` for a room with no media are no-ops (undefined, []).
   */
  request<Op extends RoomOp>(request: RoomRequestOf<Op>): Promise<WorkerResults[Op]>;
  /** Signaling has no one left in the room: forget where its media lived. */
  releaseRoom(room: string): void;
  /** Per worker; `room` limits room and track counts to that room (packet counters stay worker-wide). */
  stats(room?: string): Promise<WorkerStats[]>;
  on<E extends keyof SfuEvents>(event: E, listener: SfuEvents[E]): void;
  close(): Promise<void>;
}
