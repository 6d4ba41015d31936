import type { ConnectionQuality } from '@parley/protocol';
import type { BitrateDecision, BitratePolicy, NetworkSample, VideoProfile } from './adaptive-bitrate.js';
import type { CallQualityReporter } from './call-quality-reporter.js';
import { classifyConnection, lossFraction, retransmissionShare } from './connection-quality.js';
import { StatsSampler, type TrackStats } from './stats.js';
import { log } from './log.js';

export interface MediaMonitorOptions {
  /** Adaptive bitrate for the camera; undefined turns it off. */
  bitratePolicy: BitratePolicy | undefined;
  qualityReporter: CallQualityReporter | undefined;
  /** Every connection's streams, sampled with `sampler` (the monitor keeps its own, apart from `room.getStats()`'s). */
  collectStats(sampler: StatsSampler): Promise<TrackStats[]>;
  /** Whether the room is connected now: samples are taken only then. */
  isConnected(): boolean;
  /** Applies `profile` to every camera sender (direct links and the SFU). */
  applyCameraProfile(profile: VideoProfile): Promise<void>;
  bitrateChanged(decision: BitrateDecision): void;
  /** This participant's connection quality changed; settles once the room was told. */
  qualityChanged(quality: ConnectionQuality): Promise<void>;
}

const MONITOR_INTERVAL_MS = 2000;
/** Camera samples kept for `room.debugState()`: the last 20 s. */
const KEPT_SAMPLES = 10;

/** One sample the adaptive bitrate judged, as `room.debugState()` shows it. */
export interface CameraSampleRecord extends NetworkSample {
  /** performance.now() when it was taken. */
  at: number;
  /** The profile it left the camera in. */
  profile: VideoProfile;
}

/**
 * Every 2 s while connected, one getStats() sample of every connection, compared with the one
 * before: the camera's adaptive bitrate (`BitratePolicy`), this participant's connection quality,
 * and the call-quality reporter's figures.
 */
export class MediaMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly sampler = new StatsSampler();
  private previousSample: TrackStats[] | undefined;
  /** performance.now() of the previous sample. */
  private sampledAt = 0;
  private videoProfile: VideoProfile = 'high';
  private localQuality: ConnectionQuality | undefined;
  private readonly samples: CameraSampleRecord[] = [];

  constructor(private readonly options: MediaMonitorOptions) {}

  /** The camera's current adaptive-bitrate profile. */
  get cameraProfile(): VideoProfile {
    return this.videoProfile;
  }

  /** The adaptive bitrate's last samples, oldest first (for `room.debugState()`: why a step did or did not come). */
  get cameraSamples(): readonly CameraSampleRecord[] {
    return this.samples;
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (!this.options.isConnected()) return;
      this.tick().catch((error: unknown) => log.debug('a media sample failed (the next one is 2 s away)', error));
    }, MONITOR_INTERVAL_MS);
  }

  /** Stops sampling; the next start compares from a fresh first sample. The camera profile stays. */
  stop(): void {
    clearInterval(this.timer);
    this.previousSample = undefined;
    this.localQuality = undefined;
  }

  /** One sample (the timer's work; called directly by tests). */
  async tick(): Promise<void> {
    const stats = await this.options.collectStats(this.sampler);
    const previous = this.previousSample;
    const sampledAt = performance.now();
    this.previousSample = stats;
    const elapsed = sampledAt - this.sampledAt;
    this.sampledAt = sampledAt;
    if (!previous) return;
    this.options.qualityReporter?.sample(stats, previous, elapsed);
    if (this.options.bitratePolicy) await this.adaptBitrate(stats, previous, this.options.bitratePolicy);
    const quality = classifyConnection(stats, previous);
    if (quality !== this.localQuality) {
      this.localQuality = quality;
      await this.options.qualityChanged(quality);
    }
  }

  private async adaptBitrate(stats: TrackStats[], previous: TrackStats[], policy: BitratePolicy): Promise<void> {
    const sample = cameraSample(stats, previous);
    if (!sample) return;
    const profile = policy.decide(sample, this.videoProfile);
    this.samples.push({ ...sample, at: Math.round(performance.now()), profile });
    if (this.samples.length > KEPT_SAMPLES) this.samples.shift();
    if (profile === this.videoProfile) {
      // Senders created since the last change (a new link, a republished camera) get the low caps too.
      if (profile === 'low') await this.options.applyCameraProfile(profile);
      return;
    }
    const decision: BitrateDecision = { profile, previous: this.videoProfile, sample };
    this.videoProfile = profile;
    await this.options.applyCameraProfile(profile);
    this.options.bitrateChanged(decision);
  }
}

/**
 * What the bitrate policy judges, from the camera's outbound streams in two samples: loss (the
 * larger of reported loss and the share resent), the worst round trip, the smallest bandwidth
 * estimate. Undefined when nothing sends the camera.
 */
export function cameraSample(stats: TrackStats[], previous: TrackStats[]): NetworkSample | undefined {
  const camera = stats.filter((s) => s.direction === 'outbound' && s.source === 'camera');
  if (camera.length === 0) return undefined;
  const before = previous.filter((s) => s.direction === 'outbound' && s.source === 'camera');
  const available = camera.map((s) => s.availableOutgoingKbps).filter((kbps): kbps is number => kbps !== undefined);
  return {
    lossFraction: Math.max(lossFraction(camera, before), retransmissionShare(camera, before)),
    rttMs: camera.reduce<number | undefined>((max, s) => (s.rttMs === undefined ? max : Math.max(max ?? 0, s.rttMs)), undefined),
    availableKbps: available.length > 0 ? Math.min(...available) : undefined,
  };
}
