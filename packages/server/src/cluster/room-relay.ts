import { createHmac, timingSafeEqual } from 'node:crypto';
import WebSocket, { type RawData } from 'ws';

/**
 * Carries a signaling connection to the node its room lives on. A node that takes a join for a
 * room placed elsewhere opens a WebSocket to that node's /ws, sends the join there, and from then
 * on passes frames both ways unchanged: the room's node runs the session (membership, resume,
 * SFU), so participants on different signaling nodes are in one room, and the edge node is a
 * pipe. Chosen over carrying each request and event over Redis pub/sub (LiveKit's way) because
 * it keeps one place where a room's state lives and one code path for a session, at the price of
 * one extra hop for signaling (not media: media goes to the room's SFU directly).
 *
 * The room's node must apply per-IP limits to the client, not to the edge node: the edge says
 * who the client is in `x-parley-relay`, signed with the cluster secret, so a client cannot claim
 * another address by sending the header itself.
 */
export const RELAY_HEADER = 'x-parley-relay';
/** A relay header older than this is refused (clocks of a deployment's nodes agree within it). */
const RELAY_HEADER_TOLERANCE_MS = 30_000;

export function relayHeader(secret: string, edgeNode: string, clientIp: string, nowMs = Date.now()): string {
  const payload = `${edgeNode};${clientIp};${nowMs}`;
  return `${payload};${sign(secret, payload)}`;
}

export type RelayCheck = { ok: true; edgeNode: string; clientIp: string } | { ok: false };

export function verifyRelayHeader(header: string | undefined, secret: string, nowMs = Date.now()): RelayCheck {
  const parts = header?.split(';');
  if (parts?.length !== 4) return { ok: false };
  const [edgeNode, clientIp, at, mac] = parts as [string, string, string, string];
  const payload = `${edgeNode};${clientIp};${at}`;
  const expected = Buffer.from(sign(secret, payload), 'hex');
  const given = Buffer.from(mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false };
  if (Math.abs(nowMs - Number(at)) > RELAY_HEADER_TOLERANCE_MS) return { ok: false };
  return { ok: true, edgeNode, clientIp };
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

export interface RelayOptions {
  /** The room's node's signaling WebSocket URL. */
  target: string;
  header: string;
  /** The frame that starts the session there (the join, verbatim). */
  firstFrame: string;
  /** Deliver a frame from the room's node to the client. */
  toClient: (data: string) => void;
  /** The room's node closed (or could not be reached): close the client with this. */
  onClose: (code: number, reason: string, reachedTarget: boolean) => void;
  connectTimeoutMs?: number;
}

/** One client connection carried to the room's node. */
export class RoomRelay {
  private readonly upstream: WebSocket;
  private readonly pending: string[] = [];
  private opened = false;
  private closed = false;

  constructor(private readonly options: RelayOptions) {
    this.upstream = new WebSocket(options.target, { headers: { [RELAY_HEADER]: options.header }, handshakeTimeout: options.connectTimeoutMs ?? 3000, perMessageDeflate: false });
    this.upstream.on('open', () => {
      this.opened = true;
      this.upstream.send(options.firstFrame);
      for (const frame of this.pending.splice(0)) this.upstream.send(frame);
    });
    this.upstream.on('message', (data: RawData) => options.toClient(String(data)));
    this.upstream.on('close', (code, reason) => this.finish(code, String(reason)));
    this.upstream.on('error', () => this.finish(1001, 'the room’s node could not be reached'));
  }

  /** A frame from the client, passed on as is (queued until the room's node answers). */
  send(frame: string): void {
    if (this.closed) return;
    if (this.opened) this.upstream.send(frame);
    else this.pending.push(frame);
  }

  /** The client went away: end the session on the room's node too (it then starts its grace period). */
  close(): void {
    this.closed = true;
    this.upstream.close(1000, 'the client left');
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose(code, reason, this.opened);
  }
}
