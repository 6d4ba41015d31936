/** The two sending profiles the adaptive bitrate moves between. */
export type VideoProfile = 'low' | 'high';

export const videoProfiles: Record<VideoProfile, { height: number; frameRate: number; maxBitrate: number }> = {
  low: { height: 480, frameRate: 15, maxBitrate: 600_000 },
  high: { height: 720, frameRate: 30, maxBitrate: 2_500_000 },
};

/** What the network did to our video since the previous sample. */
export interface NetworkSample {
  /** 0..1, from the receivers' reports. */
  lossFraction: number;
  rttMs: number | undefined;
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
 * under 1 % and RTT under 100 ms steps back up to 1280x720 at 30 fps. Hysteresis: going down
 * judges the last two samples together (4 s: one 2-s sample of a lossy link can read 3 % and the
 * next 13 %, so two "bad" samples in a row would rarely both pass 5 %), going up needs four good
 * samples in a row, so a single spike never flaps the picture.
 */
export class DefaultBitratePolicy implements BitratePolicy {
  private recent: NetworkSample[] = [];
  private good = 0;

  constructor(
    private readonly thresholds = { downLoss: 0.05, downRttMs: 300, upLoss: 0.01, upRttMs: 100, samplesDown: 2, samplesUp: 4 },
  ) {}

  decide(sample: NetworkSample, current: VideoProfile): VideoProfile {
    const t = this.thresholds;
    this.recent = [...this.recent, sample].slice(-t.samplesDown);
    const isGood = sample.lossFraction < t.upLoss && (sample.rttMs ?? 0) < t.upRttMs;
    this.good = isGood ? this.good + 1 : 0;
    if (current === 'high' && this.recent.length === t.samplesDown) {
      const meanLoss = this.recent.reduce((sum, s) => sum + s.lossFraction, 0) / this.recent.length;
      const slow = this.recent.every((s) => (s.rttMs ?? 0) > t.downRttMs);
      if (meanLoss > t.downLoss || slow) return this.switched('low');
    }
    if (current === 'low' && this.good >= t.samplesUp) return this.switched('high');
    return current;
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
