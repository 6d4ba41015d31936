import { createSocket } from 'node:dgram';
import nodeDataChannel, { type PeerConnection, type RtcConfig, type Track } from 'node-datachannel';
import { logWorkerError } from './worker-log.js';

export interface EngineOptions {
  /** Address the media sockets bind to; undefined binds every interface. */
  bindAddress: string | undefined;
  /** One UDP port shared by every connection of this worker (ICE UDP mux)... */
  udpPort: number | undefined;
  /** ...or, when the mux is off, a port range with one port per connection. */
  portRange: { min: number; max: number } | undefined;
  /** Replaces the host address in SDP, for servers behind 1:1 NAT. */
  announcedAddress: string | undefined;
}

/**
 * Creates libdatachannel PeerConnections configured for the SFU.
 *
 * A connection's first setLocalDescription() gathers its ICE candidates, which binds its UDP
 * socket (the shared one under ICE UDP mux, else one port of the range). If that bind fails,
 * libdatachannel throws std::runtime_error("Failed to gather local ICE candidates"), and
 * node-datachannel (0.33.4) does not catch it in setLocalDescription: the exception crosses
 * N-API and std::terminate aborts the whole worker (SIGABRT); no JavaScript try/catch sees it.
 * So no connection may gather unless reserve() found its socket bindable just before. That
 * narrows the failure to another process (or, with a port range, another worker sharing the
 * range) binding the very port between reserve()'s probe and the gathering, a window of one
 * event-loop turn; node-datachannel gives no way to gather that reports failure instead.
 */
export class MediaEngine {
  private readonly config: RtcConfig;
  private count = 0;
  /**
   * Under ICE UDP mux, libjuice opens the shared socket with the first connection that gathers
   * and closes it when the last one closes; in between rooms the port is anyone's. This
   * connection gathers once and is never closed, so the worker holds its port from then on and
   * no later connection binds anything.
   */
  private portHolder: PeerConnection | undefined;
  /** reserve() calls run one after another, each with its caller's gathering right after it. */
  private reserving: Promise<void> = Promise.resolve();

  constructor(readonly options: EngineOptions) {
    this.config = {
      iceServers: [],
      disableAutoNegotiation: true,
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      ...(options.udpPort !== undefined
        ? { enableIceUdpMux: true, portRangeBegin: options.udpPort, portRangeEnd: options.udpPort }
        : options.portRange
          ? { portRangeBegin: options.portRange.min, portRangeEnd: options.portRange.max }
          : {}),
    };
  }

  createPeerConnection(label: string): PeerConnection {
    this.count += 1;
    return new nodeDataChannel.PeerConnection(`${label}-${this.count}`, this.config);
  }

  /**
   * Resolves when `pc` may call its first setLocalDescription(), which the caller must then do
   * with no await in between; rejects (an ordinary error for the request) when the socket it
   * would bind cannot be bound. A connection that has gathered already binds nothing more.
   */
  reserve(pc: PeerConnection): Promise<void> {
    if (pc.gatheringState() !== 'new') return Promise.resolve();
    return this.inTurn();
  }

  /** Under ICE UDP mux, takes the worker's port now, before any connection needs it. */
  holdPort(): Promise<void> {
    return this.options.udpPort === undefined ? Promise.resolve() : this.inTurn();
  }

  private inTurn(): Promise<void> {
    const turn = this.reserving.then(() => this.reserveNow());
    this.reserving = turn.catch(() => undefined);
    return turn;
  }

  private async reserveNow(): Promise<void> {
    const { udpPort, portRange, bindAddress } = this.options;
    if (udpPort !== undefined) {
      if (this.portHolder) return;
      if (!(await bindable(bindAddress, udpPort))) throw new Error(`the SFU's UDP port ${udpPort} is in use by another socket`);
      const holder = new nodeDataChannel.PeerConnection('udp-port-holder', this.config);
      const audio = new nodeDataChannel.Audio('0', 'Inactive');
      audio.addOpusCodec(111);
      holder.addTrack(audio);
      holder.setLocalDescription();
      this.portHolder = holder;
      return;
    }
    if (portRange) {
      // libjuice tries every port of the range from a rotating start; one free port is enough.
      const size = portRange.max - portRange.min + 1;
      const start = Math.floor(Math.random() * size);
      for (let i = 0; i < size; i++) if (await bindable(bindAddress, portRange.min + ((start + i) % size))) return;
      throw new Error(`no UDP port is free in the SFU's range ${portRange.min}-${portRange.max}`);
    }
    // Without a port or range libjuice binds port 0, which the system always satisfies.
  }
}

/** Whether a UDP socket can bind `port` on `address` (every interface when undefined) right now. */
function bindable(address: string | undefined, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(address?.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => {
      try {
        socket.close();
      } catch {
        // never bound
      }
      resolve(false);
    });
    socket.bind(port, address, () => socket.close(() => resolve(true)));
  });
}

/** Resolves once ICE gathering is complete (candidates are in the local description), or after `timeoutMs`. */
export async function gatheringComplete(pc: PeerConnection, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (pc.gatheringState() !== 'complete' && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Sends one packet; false if the engine refused it. libdatachannel throws on send errors (an SRTP
 * replay refusal, a track closing), and an exception escaping a native callback aborts the
 * process, so no send may throw.
 */
export function sendPacket(track: Track, packet: Buffer): boolean {
  try {
    return track.sendMessageBinary(packet);
  } catch {
    return false;
  }
}

/** Wraps a native callback so that nothing thrown inside can abort the worker. */
export function guarded<Args extends unknown[]>(what: string, callback: (...args: Args) => void): (...args: Args) => void {
  return (...args: Args) => {
    try {
      callback(...args);
    } catch (error) {
      logWorkerError(`${what} failed`, error);
    }
  };
}
