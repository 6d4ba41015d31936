import { VIDEO_CODECS } from '@parley/protocol/vocabulary';
import type { VideoCodecName } from './rtp/keyframe.js';

export type { VideoCodecName };
export const videoCodecNames: readonly VideoCodecName[] = VIDEO_CODECS;

/** A codec as negotiated on one side of the SFU: its payload type there and its fmtp line. */
export interface NegotiatedCodec {
  kind: 'audio' | 'video';
  /** `opus`, or a video codec name. */
  name: 'opus' | VideoCodecName;
  payloadType: number;
  clockRate: number;
  fmtp: string;
}

/**
 * What the room's mixer decodes (`mcu/video/`, which checks its inputs with `isMixerVideoCodec`): a publisher whose video goes
 * into a grid sends one of these. Not AV1 (its RTP payload is not depacketized there): a room
 * that prefers AV1 has its publishers send the next codec of its list while a grid is fed.
 */
export type MixerVideoCodec = 'vp8' | 'vp9' | 'h264';
export const MIXER_DECODES: ReadonlySet<VideoCodecName> = new Set<MixerVideoCodec>(['vp8', 'vp9', 'h264']);
export const isMixerVideoCodec = (codec: string): codec is MixerVideoCodec => MIXER_DECODES.has(codec as VideoCodecName);

/**
 * The video codecs a publisher may send, in the room's preference order: those that every
 * receiver of its video decodes (each receiver a set of codecs: a participant, or the mixer).
 * When none fits them all, the whole preference: someone will not see it, but the others do.
 */
export function publisherCodecs(preference: readonly VideoCodecName[], receivers: ReadonlyArray<ReadonlySet<VideoCodecName>>): VideoCodecName[] {
  const fit = preference.filter((codec) => receivers.every((decodes) => decodes.has(codec)));
  return fit.length > 0 ? fit : [...preference];
}

/**
 * The payload types Parley uses toward subscribers. One fixed table for every subscriber
 * connection, so bundled m-lines never map one payload type to two codecs.
 */
export const subscriberPayloadTypes: Record<NegotiatedCodec['name'], number> = { opus: 111, vp8: 96, vp9: 98, h264: 102, av1: 45 };

export function codecNameOf(encodingName: string): NegotiatedCodec['name'] | undefined {
  const lower = encodingName.toLowerCase();
  return lower === 'opus' || (videoCodecNames as readonly string[]).includes(lower) ? (lower as NegotiatedCodec['name']) : undefined;
}

/** Parses `a=fmtp` parameters into a map (keys lower-cased). */
export function fmtpParameters(fmtp: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const part of fmtp.split(';')) {
    // Split at the first '=' only: base64 values (sprop-parameter-sets) end in '='.
    const separator = part.indexOf('=');
    const key = (separator < 0 ? part : part.slice(0, separator)).trim();
    const value = separator < 0 ? '' : part.slice(separator + 1).trim();
    if (key) parameters.set(key.toLowerCase(), value);
  }
  return parameters;
}

/**
 * How well an offered format suits forwarding, higher is better: for H.264 packetization-mode 1
 * and the constrained-baseline profile every browser decodes; for VP9 profile 0.
 */
export function formatScore(name: NegotiatedCodec['name'], fmtp: string): number {
  const parameters = fmtpParameters(fmtp);
  if (name === 'h264') {
    if (parameters.get('packetization-mode') !== '1') return -1;
    const profile = (parameters.get('profile-level-id') ?? '').toLowerCase();
    return profile.startsWith('42e0') ? 3 : profile.startsWith('4200') ? 2 : 1;
  }
  if (name === 'vp9') return (parameters.get('profile-id') ?? '0') === '0' ? 1 : -1;
  if (name === 'av1') return (parameters.get('profile') ?? '0') === '0' ? 1 : -1;
  return 1;
}
