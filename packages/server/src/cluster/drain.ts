/** A node's SFU media counts as moved once no packet reached it for this long. */
export const MEDIA_IDLE_MS = 1000;
const POLL_MS = 250;

/** What the drain reads of the node's SFU: its rooms, and every media packet received so far. */
export interface MediaActivity {
  rooms: number;
  packetsIn: number;
}

/**
 * Make before break, the node's half: after a drain shed the signaling connections, the SDKs
 * publish and subscribe on the room's new node while their media on this one goes on (their old
 * memberships stay here for the reconnect grace); each SDK closes its connections here once the
 * new node carries everything (client `node-handover.ts`). So the node keeps its SFU until no
 * media reaches it any more: resolves true when no SFU room is left or no packet arrived for
 * `idleMs`, false at `deadline` (the drain's timeout). While anyone still sends media here,
 * someone may still be watching it; once nobody does, nothing is forwarded to anyone.
 */
export async function untilMediaMoved(activity: () => Promise<MediaActivity>, deadline: number, idleMs = MEDIA_IDLE_MS, pollMs = POLL_MS): Promise<boolean> {
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const now = Date.now();
    const current = await activity().catch(() => undefined);
    // An SFU that cannot answer (its workers gone) serves nobody either.
    if (!current || current.rooms === 0) return true;
    if (current.packetsIn !== lastCount) {
      lastCount = current.packetsIn;
      lastChange = now;
    } else if (now - lastChange >= idleMs) return true;
    if (now >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - now))));
  }
}
