/**
 * A layer that sent no media for this long is treated as stopped (bandwidth, CPU or dynacast), so
 * its subscribers fall back to a live layer; at 15+ fps a live layer sends every ~70 ms.
 */
export const LAYER_IDLE_MS = 400;
/**
 * A layer silent this long while a layer below it still sends is taken as stopped sooner: the
 * publisher's encoder turned it off (Chromium's simulcast allocator drops the top layer when its
 * estimate falls short of it), and every packet of the lower layer since shows that the link and
 * the capture are fine. Measured under `bench:quality`'s uplink step: once the link came back the
 * 720p layer resumed, the subscriber switched to it, and Chromium turned it off again within a
 * second; the subscriber's picture froze 650 ms (400 ms of silence before the switch down was
 * even asked for, then the poll and the lower layer's keyframe). A layer taken as stopped wrongly
 * costs a keyframe request of the lower layer: its packets keep being forwarded until that
 * keyframe, and it is live again with its next packet.
 */
export const LAYER_STOPPED_BELOW_LIVE_MS = 200;
/** A lower layer counts as still sending with media this recent (two frames at 20 fps). */
const LOWER_RECENT_MS = 100;

/**
 * The simulcast layers live at `now`, lowest first, from when each last sent media (undefined: not
 * seen yet).
 */
export function liveLayers(lastMediaAt: readonly (number | undefined)[], now: number): number[] {
  const live: number[] = [];
  let lowerSending = false;
  lastMediaAt.forEach((at, layer) => {
    if (at === undefined) return;
    const silentMs = now - at;
    if (silentMs < LAYER_IDLE_MS && !(lowerSending && silentMs >= LAYER_STOPPED_BELOW_LIVE_MS)) live.push(layer);
    if (silentMs < LOWER_RECENT_MS) lowerSending = true;
  });
  return live;
}
