import type { VideoQuality } from '../worker-protocol.js';

const qualityLayer: Record<VideoQuality, number> = { low: 0, medium: 1, high: 2 };
/** Loss above this in a receiver report steps the subscriber down a layer. */
const STEP_DOWN_LOSS = 0.1;
/** Loss below this for STEP_UP_AFTER_MS lets it climb back. */
const STEP_UP_LOSS = 0.02;
const STEP_UP_AFTER_MS = 8000;

/**
 * Which simulcast layer one subscriber should get: what it asked for (an explicit quality or its
 * video size), capped by what its downlink carries, among the layers the publisher is actually
 * sending. What the downlink carries is the allocation from its transport-wide estimate
 * (DownlinkController) or, for a browser that sends no transport-wide feedback, loss in its
 * receiver reports.
 */
export class LayerController {
  private requested: number;
  private bandwidthCap: number;
  private cleanSince = performance.now();
  /** The layer the downlink estimate allows (DownlinkController); replaces the loss rule once set. */
  private allocated: number | undefined;
  private urgent = false;
  /** The highest layer the publisher's uplink gets through (UplinkCollapse), if it is limited. */
  private upstreamCap: number | undefined;
  /** Whether what is forwarded above upstreamCap stops at once. */
  private dropAboveCap = true;
  /** Whether the first picture went out (see target). */
  private hasStarted = false;

  /**
   * `startCap`: the highest layer until the downlink says more (loss reports climb from it).
   * `startsAtWanted`: the first picture from the wanted layer rather than the lowest live one.
   */
  constructor(
    private readonly layerCount: number,
    startCap = layerCount - 1,
    private readonly startsAtWanted = false,
  ) {
    this.requested = layerCount - 1;
    this.bandwidthCap = Math.max(0, Math.min(startCap, layerCount - 1));
  }

  setRequested(quality: VideoQuality): void {
    this.requested = Math.min(qualityLayer[quality], this.layerCount - 1);
  }

  get requestedLayer(): number {
    return this.requested;
  }

  get wanted(): number {
    return Math.min(this.requested, this.allocated ?? this.bandwidthCap, this.upstreamCap ?? Infinity);
  }

  /**
   * The publisher's uplink collapsed (`layer`: what still gets through) or recovered (undefined).
   * What is forwarded above it stops at once when the collapse showed as loss (it arrives in
   * pieces anyway); one seen by its queue before any loss (`dropAbove` false) still delivers whole
   * frames for the ~300 ms they wait in it, so the picture keeps moving until the switch.
   */
  setUpstreamCap(layer: number | undefined, dropAbove = true): void {
    this.upstreamCap = layer;
    this.dropAboveCap = dropAbove;
  }

  /**
   * `urgent`: the link cannot carry what is being forwarded, so the current layer stops at once
   * instead of running until the lower layer's keyframe (which would keep the queue full and
   * lose what the lower layer needs); the picture holds for that keyframe either way.
   */
  setAllocated(layer: number, urgent = false): void {
    this.allocated = Math.max(0, Math.min(layer, this.layerCount - 1));
    this.urgent = urgent;
  }

  /** Whether to stop forwarding a layer above the wanted one before the switch is possible. */
  get dropsAboveWanted(): boolean {
    return this.urgent || (this.upstreamCap !== undefined && this.dropAboveCap);
  }

  onLoss(fractionLost: number, now = performance.now()): void {
    if (fractionLost > STEP_DOWN_LOSS) {
      this.bandwidthCap = Math.max(0, Math.min(this.bandwidthCap, this.requested) - 1);
      this.cleanSince = now;
    } else if (fractionLost >= STEP_UP_LOSS) {
      this.cleanSince = now;
    } else if (now - this.cleanSince > STEP_UP_AFTER_MS && this.bandwidthCap < this.layerCount - 1) {
      this.bandwidthCap += 1;
      this.cleanSince = now;
    }
  }

  /** The first picture went out; from now on the wanted layer is the target. */
  started(): void {
    this.hasStarted = true;
  }

  /**
   * The layer to forward: the wanted one if live, else the best live one below, else the lowest
   * live one. The first picture comes from the lowest live layer: its keyframe is the smallest to
   * encode, send and decode (a 320x180 one against a 1280x720 one), and the switch up follows at
   * the wanted layer's next keyframe, asked for at the next poll.
   *
   * Under a collapsed uplink's cap the target is the capped layer even while it looks idle: most
   * of every layer is lost then, and the lowest layer (a few packets a second get through) read as
   * stopped for 400 ms at a time while the upper ones still trickled in. Falling back to the
   * lowest live one asked the publisher for 360p keyframes (three in 650 ms under
   * `bench:quality`'s uplink step), each several times the 180p one the picture was waiting for,
   * into the link that had just collapsed.
   */
  target(active: readonly number[]): number {
    if (active.length === 0) return -1;
    if (!this.hasStarted && !this.startsAtWanted) return active[0]!;
    const wanted = this.wanted;
    let best = -1;
    for (const layer of active) if (layer <= wanted && layer > best) best = layer;
    if (best >= 0) return best;
    return this.upstreamCap !== undefined ? wanted : active[0]!;
  }
}
