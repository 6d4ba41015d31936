import { log } from '../log.js';
import { selectedTransport, type Report } from '../stats.js';

/**
 * Chromium's encoder keeps a resolution its bandwidth estimate forced on it, long after the
 * estimate has grown back. Measured (Chromium 156, direct call on loopback):
 * - on a busy machine the estimate was 110 kbit/s when the link connected and 1.3 Mbit/s a second
 *   later; the encoder settled at 320x180 and sent ~140 kbit/s for 15 s and more;
 * - a camera capped at 60 kbit/s until the encoder is at 180p (3-20 s: straight there, or one
 *   step every ~5 s), then uncapped: still 180p 20 s later with Mbit/s estimated, in 6 of 6 runs
 *   without this watch (`e2e/p2p-call.test.ts`'s squeeze);
 * - after `slow-3g` cleared, 360p at 370 kbit/s once the adaptive bitrate was back at 'high'.
 * Flipping the degradation preference (`restartEncoderAdaptation`, enough right after connecting)
 * does not release it then; detaching the track and attaching it again does, at once (180p, 270p
 * and 540p → 720p within 0.5 s). So this watch samples each video sender every second and
 * reattaches the track of one that is held back like that. A link on which a higher resolution
 * does not fit gets it lowered again by the same adaptation, so a reattach there costs one
 * keyframe and a backed-off retry.
 */

/** What one sample of a video sender says. */
export interface EncoderSample {
  /** `qualityLimitationReason` of its outbound stream (Chromium; undefined elsewhere). */
  limitation: string | undefined;
  frameHeight: number | undefined;
  /** The height it sends at when nothing limits it: the capture's, divided by `scaleResolutionDownBy`. */
  expectedHeight: number | undefined;
  /** What it sent since the previous sample. */
  sendingKbps: number;
  /** The link's bandwidth estimate (`availableOutgoingBitrate`). */
  availableKbps: number | undefined;
  /** The sender's own cap (`maxBitrate` of its encoding), if any. */
  maxBitrateKbps: number | undefined;
}

/** The estimate must leave this many times what the encoder sends... */
const HEADROOM_FACTOR = 3;
/** ...and at least this much: below it a lower resolution is what the link is for. */
const MIN_ROOM_KBPS = 500;

/** Whether the encoder sends below its resolution "for bandwidth" while the estimate has room for far more. */
export function heldBack(sample: EncoderSample): boolean {
  const { limitation, frameHeight, expectedHeight, sendingKbps, availableKbps, maxBitrateKbps } = sample;
  if (limitation !== 'bandwidth' || frameHeight === undefined || expectedHeight === undefined || availableKbps === undefined) return false;
  // Encoders round odd sizes down by a pixel or two.
  if (frameHeight >= expectedHeight - 2) return false;
  const room = Math.min(availableKbps, maxBitrateKbps ?? Number.POSITIVE_INFINITY);
  return room >= MIN_ROOM_KBPS && room >= HEADROOM_FACTOR * sendingKbps;
}

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 30_000;

/**
 * When to restart one sender: after two samples in a row held back (a single one can be Chromium's
 * own step up in progress), then again only after a doubling wait (2 s up to 30 s) while the
 * restarts do not help. A sample that is not held back clears the wait.
 */
export class RestartSchedule {
  private heldBefore = false;
  private retryMs = FIRST_RETRY_MS;
  private notBefore = 0;

  /** Whether to restart now, given this sample (at `now`, ms). */
  observe(held: boolean, now: number): boolean {
    const twice = held && this.heldBefore;
    this.heldBefore = held;
    if (!held) {
      this.retryMs = FIRST_RETRY_MS;
      this.notBefore = 0;
      return false;
    }
    if (!twice || now < this.notBefore) return false;
    this.notBefore = now + this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    return true;
  }
}

const SAMPLE_INTERVAL_MS = 1000;

/** Samples one connection's video senders while it is open and reattaches the tracks of the ones held back. */
export class EncoderWatch {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly schedules = new Map<RTCRtpSender, RestartSchedule>();
  private readonly previousBytes = new Map<RTCRtpSender, { bytes: number; timestamp: number }>();
  /** How many reattaches it made (for `debugState()`). */
  restarts = 0;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly label: string,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((error: unknown) => log.debug(`${this.label}: an encoder sample failed (the next one is 1 s away)`, error));
    }, SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.pc.connectionState !== 'connected') return;
    for (const sender of this.pc.getSenders()) {
      if (sender.track?.kind !== 'video') continue;
      const sample = await this.sample(sender);
      if (!sample) continue;
      let schedule = this.schedules.get(sender);
      if (!schedule) this.schedules.set(sender, (schedule = new RestartSchedule()));
      if (!schedule.observe(heldBack(sample), performance.now())) continue;
      this.restarts++;
      log.debug(`${this.label}: the encoder sends ${sample.frameHeight}p at ${sample.sendingKbps} kbit/s with ${sample.availableKbps} kbit/s estimated: reattaching its track`);
      await reattachTrack(this.pc, sender);
    }
  }

  private async sample(sender: RTCRtpSender): Promise<EncoderSample | undefined> {
    const reports = new Map<string, Report>();
    (await sender.getStats()).forEach((report: Report) => reports.set(report.id, report));
    const outbound = [...reports.values()].find((r) => r.type === 'outbound-rtp');
    if (!outbound) return undefined;
    const { availableOutgoingBitrate } = selectedTransport(reports);
    const bytes = Number(outbound.bytesSent ?? 0);
    const timestamp = Number(outbound.timestamp);
    const before = this.previousBytes.get(sender);
    this.previousBytes.set(sender, { bytes, timestamp });
    if (!before || timestamp <= before.timestamp) return undefined;
    const encoding = sender.getParameters().encodings?.[0];
    const captureHeight = sender.track?.getSettings().height;
    return {
      limitation: outbound.qualityLimitationReason as string | undefined,
      frameHeight: outbound.frameHeight as number | undefined,
      expectedHeight: captureHeight === undefined ? undefined : Math.floor(captureHeight / (encoding?.scaleResolutionDownBy ?? 1)),
      sendingKbps: Math.round(((bytes - before.bytes) * 8) / (timestamp - before.timestamp)),
      availableKbps: availableOutgoingBitrate === undefined ? undefined : Math.round(availableOutgoingBitrate / 1000),
      maxBitrateKbps: encoding?.maxBitrate === undefined ? undefined : Math.round(encoding.maxBitrate / 1000),
    };
  }
}

/** Detaches the sender's track and attaches it again, unless something else replaced it meanwhile. */
export async function reattachTrack(pc: RTCPeerConnection, sender: RTCRtpSender): Promise<void> {
  const track = sender.track;
  if (!track) return;
  const sending = () => pc.getTransceivers().some((t) => t.sender === sender && (t.direction === 'sendrecv' || t.direction === 'sendonly'));
  try {
    await sender.replaceTrack(null);
    // A camera switch (another track) or an unpublish (no longer sending) that ran in between wins.
    if (sender.track === null && sending() && track.readyState === 'live') await sender.replaceTrack(track);
  } catch (error) {
    log.debug('reattaching a held-back encoder failed (the sender stopped meanwhile?)', error);
  }
}
