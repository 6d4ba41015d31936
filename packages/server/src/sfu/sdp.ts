import * as sdpTransform from 'sdp-transform';
import { codecNameOf, formatScore, type NegotiatedCodec, type VideoCodecName } from './codecs.js';
import { SubscriberExtensionId } from './rtp/header-extensions.js';

type MediaSection = sdpTransform.MediaDescription;

/** Header extensions the SFU reads from publishers; everything else is declined in the answer. */
const RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const acceptedExtensions = new Set(['urn:ietf:params:rtp-hdrext:sdes:mid', RID, AUDIO_LEVEL, TRANSPORT_CC]);
/**
 * Feedback the SFU gives publishers: NACK, PLI/FIR, REMB, and transport-wide feedback
 * (`transport-cc`), which runs the browser's own congestion control (GCC) as in a direct call.
 */
const acceptedFeedback = new Set(['nack', 'ccm', 'goog-remb', 'transport-cc']);

export interface PublishOffer {
  kind: 'audio' | 'video';
  mid: string;
  /** Simulcast layer ids the publisher offers, lowest first as the browser lists them. */
  rids: string[];
  ridExtensionId: number | undefined;
  audioLevelExtensionId: number | undefined;
  /** The transport-wide sequence number extension, when the offer has it and transport-cc feedback. */
  transportCcExtensionId: number | undefined;
  codec: NegotiatedCodec;
}

export class SdpError extends Error {
  override name = 'SdpError';
}

/**
 * Reads a publisher's offer: exactly one sending audio or video m-line (one connection per
 * published track), and picks its codec: the first of `preference` the offer has.
 */
export function readPublishOffer(sdp: string, videoPreference: readonly VideoCodecName[]): PublishOffer {
  const session = sdpTransform.parse(sdp);
  const media = session.media;
  if (media.length !== 1) throw new SdpError(`a publish offer has exactly one m-line (got ${media.length})`);
  const section = media[0]!;
  if (section.type !== 'audio' && section.type !== 'video') throw new SdpError(`cannot publish a ${section.type} m-line`);
  if (section.port === 0 || section.direction === 'recvonly' || section.direction === 'inactive') throw new SdpError('the publish offer does not send');
  if (section.mid === undefined) throw new SdpError('the m-line has no a=mid');
  const codec = chooseCodec(section, section.type === 'audio' ? ['opus'] : videoPreference);
  if (!codec) throw new SdpError(`the offer has none of the room's codecs (${section.type === 'audio' ? 'opus' : videoPreference.join(', ')})`);
  const rids = (section.rids ?? []).filter((rid) => rid.direction === 'send').map((rid) => String(rid.id));
  return {
    kind: section.type,
    mid: String(section.mid),
    rids,
    ridExtensionId: extensionId(section, RID),
    audioLevelExtensionId: extensionId(section, AUDIO_LEVEL),
    // Both halves are needed: the numbers on packets, and the sender's promise to act on feedback.
    transportCcExtensionId: section.rtcpFb?.some((fb) => fb.payload === codec.payloadType && fb.type === 'transport-cc') ? extensionId(section, TRANSPORT_CC) : undefined,
    codec,
  };
}

function chooseCodec(section: MediaSection, preference: readonly NegotiatedCodec['name'][]): NegotiatedCodec | undefined {
  const fmtpOf = (payload: number) => section.fmtp.find((f) => f.payload === payload)?.config ?? '';
  for (const wanted of preference) {
    const candidates = section.rtp
      .map((rtp) => ({ rtp, name: codecNameOf(rtp.codec), fmtp: fmtpOf(rtp.payload) }))
      .filter((c) => c.name === wanted && formatScore(wanted, c.fmtp) >= 0)
      .sort((a, b) => formatScore(wanted, b.fmtp) - formatScore(wanted, a.fmtp));
    const best = candidates[0];
    if (best) return { kind: section.type as 'audio' | 'video', name: wanted, payloadType: best.rtp.payload, clockRate: best.rtp.rate ?? 90000, fmtp: best.fmtp };
  }
  return undefined;
}

function extensionId(section: MediaSection, uri: string): number | undefined {
  return section.ext?.find((ext) => ext.uri === uri)?.value;
}

/**
 * Turns the engine's answer into the one the browser gets. libdatachannel mirrors the offer
 * (every codec, `a=rid:x send`), which makes Chromium send nothing or wrap VP8 in RED; the answer
 * keeps the chosen codec only, receives the offered layers, and declines what the SFU does not
 * implement. transport-cc stays: the SFU answers it with transport-wide feedback.
 */
export function shapePublishAnswer(engineAnswer: string, offer: PublishOffer, announcedAddress?: string): string {
  const session = sdpTransform.parse(engineAnswer);
  session.groups = session.groups?.filter((group) => group.type === 'BUNDLE');
  delete session.msidSemantic;
  for (const section of session.media) {
    const pt = offer.codec.payloadType;
    section.payloads = String(pt);
    section.rtp = section.rtp.filter((rtp) => rtp.payload === pt);
    section.fmtp = section.fmtp.filter((fmtp) => fmtp.payload === pt);
    section.rtcpFb = section.rtcpFb?.filter((fb) => fb.payload === pt && acceptedFeedback.has(fb.type));
    section.ext = section.ext?.filter((ext) => acceptedExtensions.has(ext.uri));
    section.direction = 'recvonly';
    delete section.msid;
    delete section.ssrcs;
    delete section.ssrcGroups;
    // Lines the grammar does not know (rtcp-xr among them) are kept as `invalid`: drop the reciprocated ones.
    delete section.invalid;
    if (offer.rids.length > 0) {
      section.rids = offer.rids.map((id) => ({ id, direction: 'recv' }));
      section.simulcast = { dir1: 'recv', list1: offer.rids.join(';') };
    }
  }
  return announce(sdpTransform.write(session), announcedAddress);
}

/**
 * The engine's subscriber offer as the browser gets it: every m-line offers transport-wide
 * congestion control (the sequence extension and `transport-cc` feedback), so the subscriber's
 * browser reports each packet's arrival and the SFU estimates that downlink (DownlinkController);
 * audio m-lines also carry the audio level. Video offers `rrtr` (RFC 3611 receiver reference time):
 * the subscriber's connection sends no media, so only the SFU's answers to those reports give it a
 * round trip (see `Downstream`). libdatachannel's binding cannot add header extensions,
 * and the engine ignores them in either direction, so they go in here.
 */
export function subscriberOffer(engineOffer: string, announcedAddress: string | undefined): string {
  const session = sdpTransform.parse(engineOffer);
  for (const section of session.media) {
    if (section.type !== 'audio' && section.type !== 'video') continue;
    const ext = (section.ext ??= []);
    const add = (value: number, uri: string) => {
      if (!ext.some((e) => e.uri === uri || e.value === value)) ext.push({ value, uri });
    };
    add(SubscriberExtensionId.transportSequence, TRANSPORT_CC);
    if (section.type === 'audio') add(SubscriberExtensionId.audioLevel, AUDIO_LEVEL);
    const feedback = (section.rtcpFb ??= []);
    const offerFeedback = (payload: number, type: string) => {
      if (!feedback.some((fb) => fb.payload === payload && fb.type === type)) feedback.push({ payload, type });
    };
    for (const rtp of section.rtp) {
      offerFeedback(rtp.payload, 'transport-cc');
      if (section.type === 'video') offerFeedback(rtp.payload, 'rrtr');
    }
  }
  return announce(sdpTransform.write(session), announcedAddress);
}

/** Replaces the address in candidates and connection lines, for a server behind 1:1 NAT. */
export function announce(sdp: string, announcedAddress: string | undefined): string {
  if (!announcedAddress) return sdp;
  const session = sdpTransform.parse(sdp);
  const family = announcedAddress.includes(':') ? 6 : 4;
  for (const section of session.media) {
    if (section.connection) section.connection = { version: family, ip: announcedAddress };
    for (const candidate of section.candidates ?? []) if (candidate.type === 'host') candidate.ip = announcedAddress;
  }
  return sdpTransform.write(session);
}

/** mid -> whether the browser's answer accepted the m-line (port ≠ 0). */
export function acceptedMids(answerSdp: string): Map<string, boolean> {
  const accepted = new Map<string, boolean>();
  for (const section of sdpTransform.parse(answerSdp).media) if (section.mid !== undefined) accepted.set(String(section.mid), section.port !== 0);
  return accepted;
}
