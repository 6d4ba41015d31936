/**
 * How one subscriber's downlink estimate is shared among the tracks it receives. Audio comes off
 * the top (it never waits for video); every video then gets its lowest simulcast layer; what is
 * left raises videos one layer at a time, highest priority first (screen share, then the active
 * speaker, then the rest), each as far as it wants before the next. Pure: the DownlinkController
 * feeds it measured layer rates and applies the result.
 */

export interface AllocationTrack {
  id: string;
  kind: 'audio' | 'video';
  /** Higher goes first. */
  priority: number;
  /** Bits per second of each simulcast layer, lowest first (one entry for audio or no simulcast). */
  layerBps: readonly number[];
  /** The highest layer this subscriber wants (its requested quality, or the tile size). */
  maxLayer: number;
  /** The layer it has now; -1 before the first. */
  currentLayer: number;
}

export interface Allocation {
  /** Chosen layer per video track id. */
  layers: Map<string, number>;
  /** Bits per second the chosen layers and the audio take. */
  usedBps: number;
  /** The estimate that would let one more layer up (the next step in priority order); undefined when all are at their max. */
  nextStepBps: number | undefined;
}

/** Upgrades need this much headroom over the next layer's rate. */
export const UPGRADE_MARGIN = 1.15;
/**
 * A layer being forwarded is kept while its step is within 1/0.9 of what is left. The estimate is
 * already conservative (85 % of what got through after a queue built up; it holds, without
 * climbing, under 2-10 % loss while a publisher's layer keeps ramping up), and each step down
 * and back up costs two keyframes.
 */
export const KEEP_MARGIN = 0.9;

/**
 * The layers for `budgetBps`. A track keeps its current layer while that nearly fits the budget
 * (KEEP_MARGIN) and an upgrade only happens with UPGRADE_MARGIN to spare, so an estimate wobbling around one
 * layer's rate does not switch layers (each switch up costs a keyframe) at every feedback.
 */
export function allocate(budgetBps: number, tracks: readonly AllocationTrack[]): Allocation {
  const layers = new Map<string, number>();
  let remaining = budgetBps;
  let usedBps = 0;
  for (const track of tracks) {
    if (track.kind !== 'audio') continue;
    remaining -= track.layerBps[0] ?? 0;
    usedBps += track.layerBps[0] ?? 0;
  }
  const videos = tracks.filter((track) => track.kind === 'video').sort((a, b) => b.priority - a.priority);
  const chosen = new Map<string, number>();
  for (const video of videos) {
    chosen.set(video.id, 0);
    remaining -= video.layerBps[0] ?? 0;
    usedBps += video.layerBps[0] ?? 0;
  }
  let nextStepBps: number | undefined;
  for (const video of videos) {
    let layer = 0;
    const top = Math.min(video.maxLayer, video.layerBps.length - 1);
    while (layer < top) {
      const step = video.layerBps[layer + 1]! - video.layerBps[layer]!;
      const margin = layer + 1 <= video.currentLayer ? KEEP_MARGIN : UPGRADE_MARGIN;
      if (step * margin > remaining) {
        nextStepBps ??= budgetBps - remaining + step * UPGRADE_MARGIN;
        break;
      }
      remaining -= step;
      usedBps += step;
      layer += 1;
    }
    chosen.set(video.id, layer);
  }
  for (const [id, layer] of chosen) layers.set(id, layer);
  return { layers, usedBps, nextStepBps };
}
