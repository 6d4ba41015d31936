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

/** Creates libdatachannel PeerConnections configured for the SFU. */
export class MediaEngine {
  private readonly config: RtcConfig;
  private count = 0;

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
