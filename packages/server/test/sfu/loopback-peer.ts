/**
 * A libdatachannel peer on loopback, for tests that talk to the SFU without a browser
 * (sfu/synthetic-media.ts, mcu/webinar-room-main.ts).
 */
import nodeDataChannel, { type PeerConnection } from 'node-datachannel';

/** A peer bound to 127.0.0.1 that negotiates only when asked; closed by the test's cleanups. */
export function loopbackPeer(label: string, cleanups: Array<() => void | Promise<void>>): PeerConnection {
  const pc = new nodeDataChannel.PeerConnection(label, { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true });
  cleanups.push(() => {
    try {
      pc.close();
    } catch {
      // already closed
    }
  });
  return pc;
}

/** Sets the local description and answers it once ICE gathering is complete. */
export async function gatheredDescription(pc: PeerConnection, timeoutMs: number): Promise<string> {
  pc.setLocalDescription();
  const start = performance.now();
  while (pc.gatheringState() !== 'complete') {
    if (performance.now() - start > timeoutMs) throw new Error(`ICE gathering not complete within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pc.localDescription()!.sdp;
}
