import { VideoCodec } from '@parley/protocol';

/**
 * Chromium starts a connection's bandwidth estimate at 300 kbit/s, and its encoder at the
 * resolution that fits it (180p for a 720p camera), then climbs a step every few seconds
 * (measured in a direct call: still 360p after 12 s). `x-google-start-bitrate` on the video
 * codecs of the remote description, the one that governs what this side sends, starts the
 * estimate at 1 Mbit/s instead: 720p from the first second. Congestion control still takes it
 * down at once on a link that cannot carry it; browsers other than Chromium ignore the parameter.
 */
const START_BITRATE_KBPS = 1000;

const VIDEO_CODECS = new Set<string>(VideoCodec.options);

/** `description` with the start bitrate on each video codec's format parameters. */
export function withStartBitrate<Description extends { type: RTCSdpType; sdp?: string }>(description: Description): Description {
  if (!description.sdp) return description;
  const parameter = `x-google-start-bitrate=${START_BITRATE_KBPS}`;
  const eol = description.sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = description.sdp.split(eol);
  const videoPayloads = new Set<string>();
  for (const line of lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
    if (rtpmap && VIDEO_CODECS.has(rtpmap[2]!.toLowerCase())) videoPayloads.add(rtpmap[1]!);
  }
  const withFmtp = new Set(lines.flatMap((line) => /^a=fmtp:(\d+) /.exec(line)?.[1] ?? []));
  const result: string[] = [];
  for (const line of lines) {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp && videoPayloads.has(fmtp[1]!) && !fmtp[2]!.includes('x-google-start-bitrate')) {
      result.push(`${line};${parameter}`);
      continue;
    }
    result.push(line);
    const rtpmap = /^a=rtpmap:(\d+) /.exec(line);
    if (rtpmap && videoPayloads.has(rtpmap[1]!) && !withFmtp.has(rtpmap[1]!)) result.push(`a=fmtp:${rtpmap[1]} ${parameter}`);
  }
  return { ...description, sdp: result.join(eol) };
}

/**
 * How long after a direct connection is up its video encoders start again from the link's
 * estimate. By then Chromium's probes have measured the link (several Mbit/s on a LAN).
 */
export const ENCODER_RESTART_DELAY_MS = 300;

/**
 * Lets Chromium's encoder pick its resolution again from the current bandwidth estimate.
 *
 * An encoder configured before its connection is up (a track sent in the first offer or answer)
 * starts at the estimate the link has when it connects, ~0.7 Mbit/s of the 1 Mbit/s start, and
 * settles at 960x540 ("bandwidth"-limited) for the first 720p camera frames; it stays there while
 * the estimate grows to 5 Mbit/s (measured: 6 s and more, Chromium 156). Its quality scaler does
 * not come back up on its own; a renegotiation or a change of degradation preference clears the
 * restriction, and 720p then shows within 250 ms. A link on which 720p does not fit gets its
 * resolution lowered again by the same adaptation. Browsers that refuse the preference
 * (Firefox starts at the capture's resolution anyway) are left alone.
 */
export async function restartEncoderAdaptation(sender: RTCRtpSender): Promise<void> {
  try {
    const parameters = sender.getParameters();
    const preference = parameters.degradationPreference;
    await sender.setParameters({ ...parameters, degradationPreference: preference === 'maintain-resolution' ? 'balanced' : 'maintain-resolution' });
    const again = sender.getParameters();
    if (preference === undefined) delete again.degradationPreference;
    else again.degradationPreference = preference;
    await sender.setParameters(again);
  } catch {
    // Not supported here, or the sender stopped meanwhile: nothing to restart.
  }
}
