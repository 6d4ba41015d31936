/** The two sending profiles the adaptive bitrate moves between. */
export type VideoProfile = 'low' | 'high';

export const videoProfiles: Record<VideoProfile, { height: number; frameRate: number; maxBitrate: number }> = {
  low: { height: 480, frameRate: 15, maxBitrate: 600_000 },
  high: { height: 720, frameRate: 30, maxBitrate: 2_500_000 },
};

/** What the network did to our video since the previous sample. */
export interface NetworkSample {
  /** 0..1: the receivers' reported loss, or the share of packets resent after NACKs if higher. */
  lossFraction: number;
  rttMs: number | undefined;
  /** The browser's own bandwidth estimate for the camera's connection, when it has one. */
  availableKbps?: number | undefined;
}

/** Decides the profile from samples; keep any memory (hysteresis) inside. */
export interface BitratePolicy {
  decide(sample: NetworkSample, current: VideoProfile): VideoProfile;
}

export interface BitrateDecision {
  profile: VideoProfile;
  previous: VideoProfile;
  sample: NetworkSample;
}

/**
 * The default policy: loss over 5 % or RTT over 300 ms steps down to 640x480 at 15 fps; loss
 * under 1 % and RTT under 100 ms steps back up to 1280x720 at 30 fps.
 *
 * Hysteresis: going down judges the last two samples together (4 s: one 2-s sample of a lossy
 * link can read 3 % and the next 13 %), going up needs four good samples in a row, and twice as
 * many each time a step up had to be undone within 10 s for loss or round trip (back to four after
 * a minute in `high`), so a link that 720p hurts is not probed every few seconds. A step up undone
 * by the bandwidth estimate alone did no harm (loss and delay stayed good: congestion control kept
 * what was sent to the link) and is the only way to learn that the link recovered: in `low` the
 * camera sends too little for Chromium's estimate to climb, and it probes only when the profile
 * raises its caps. Under `bench:quality`'s uplink step (2000 -> 300 -> 2000 kbit/s) the estimate
 * read 285-290 kbit/s for 11 s after the link came back, and with the doubled wait the camera
 * stayed in `low` for 12 s of it (recovery to 720p 11.9-12.2 s); without, 2.7-4.6 s in four runs.
 *
 * A bandwidth estimate that fell under 600 kbit/s (what the low profile itself needs) in both
 * samples, after having been at least 1.5 times that, also steps down (a new connection's estimate
 * starts low and climbs, which must not count): between two Chromium peers congestion control keeps loss and delay low on a narrow
 * link, and the estimate is what shows it cannot carry 720p. Going up ignores the estimate: it
 * climbs only once more is sent (Chromium probes when the profile raises its caps).
 */
export class DefaultBitratePolicy implements BitratePolicy {
  private recent: NetworkSample[] = [];
  private good = 0;
  private samplesSinceUp = Infinity;
  private samplesUpNeeded: number;
  /** The highest bandwidth estimate seen: the estimate counts as a signal only once it has been high. */
  private peakKbps = 0;

  constructor(
    private readonly thresholds = { downLoss: 0.05, downRttMs: 300, downKbps: 600, upLoss: 0.01, upRttMs: 100, samplesDown: 2, samplesUp: 4 },
  ) {
    this.samplesUpNeeded = thresholds.samplesUp;
  }

  decide(sample: NetworkSample, current: VideoProfile): VideoProfile {
    const t = this.thresholds;
    this.recent = [...this.recent, sample].slice(-t.samplesDown);
    this.peakKbps = Math.max(this.peakKbps, sample.availableKbps ?? 0);
    this.samplesSinceUp += 1;
    const isGood = sample.lossFraction < t.upLoss && (sample.rttMs ?? 0) < t.upRttMs;
    this.good = isGood ? this.good + 1 : 0;
    if (current === 'high' && this.samplesSinceUp >= 30) this.samplesUpNeeded = t.samplesUp;
    if (current === 'high' && this.recent.length === t.samplesDown) {
      const bad = this.badness();
      if (bad !== undefined) {
        // Only a step up that hurt (loss or delay) backs off; see the class comment.
        if (this.samplesSinceUp <= 5 && bad === 'hurt') this.samplesUpNeeded = Math.min(this.samplesUpNeeded * 2, 32);
        return this.switched('low');
      }
    }
    if (current === 'low' && this.good >= this.samplesUpNeeded) {
      this.samplesSinceUp = 0;
      return this.switched('high');
    }
    return current;
  }

  /**
   * Why the last samples say step down: `hurt` (loss or round trip: sending more harmed the call)
   * or `narrow` (only the bandwidth estimate, with loss and delay fine); undefined if they do not.
   */
  private badness(): 'hurt' | 'narrow' | undefined {
    const t = this.thresholds;
    const meanLoss = this.recent.reduce((sum, s) => sum + s.lossFraction, 0) / this.recent.length;
    const slow = this.recent.every((s) => (s.rttMs ?? 0) > t.downRttMs);
    if (meanLoss > t.downLoss || slow) return 'hurt';
    // A fresh connection's estimate starts low and climbs: only a fall from a link that carried more counts.
    const narrow = this.peakKbps >= 1.5 * t.downKbps && this.recent.every((s) => (s.availableKbps ?? Infinity) < t.downKbps);
    return narrow ? 'narrow' : undefined;
  }

  private switched(profile: VideoProfile): VideoProfile {
    this.recent = [];
    this.good = 0;
    return profile;
  }
}

/** Applies a profile to one camera sender: resolution, frame rate and bitrate caps. */
export async function applyProfile(sender: RTCRtpSender, profile: VideoProfile): Promise<void> {
  const parameters = sender.getParameters();
  const encodings = parameters.encodings ?? [];
  if (encodings.length === 0) return;
  const { height, frameRate, maxBitrate } = videoProfiles[profile];
  const sourceHeight = sender.track?.getSettings().height ?? height;
  if (encodings.length === 1) {
    const encoding = encodings[0]!;
    encoding.scaleResolutionDownBy = Math.max(1, sourceHeight / height);
    encoding.maxFramerate = frameRate;
    encoding.maxBitrate = maxBitrate;
  } else {
    // Simulcast (SFU): the top layer goes in the low profile, every layer keeps to the frame rate.
    for (const encoding of encodings) encoding.maxFramerate = frameRate;
  }
  await sender.setParameters(parameters);
}
