/**
 * VP8 temporal layer indices (RFC 7741: the T bit, and TID/Y in the TID/KEYIDX byte) taken out
 * of a packet before it reaches subscribers.
 *
 * Why: Chromium's VP8 simulcast encodes each layer with three temporal layers (`L1T3`), and a
 * libwebrtc receiver that sees TID finds each frame's references per temporal layer: a frame
 * repaired late (a lost last packet learnt only at the next frame, or a resend lost again) is
 * passed by a later frame of a lower layer, dropped as too old, and the frames of its layer that
 * follow reference it and are dropped too, until the next base-layer frame; only every fourth
 * frame shows. Traced under 7 % uplink loss (`bench:quality --profiles lossy`, 180 s, 2700 frames
 * forwarded at 360p/15 fps): 51 frames reached the subscriber whole and were never shown (38 of
 * them TID 2), and the one freeze (250 ms) was such a run: a TID 2 frame whose last packet and its
 * first resend were lost came whole 98 ms after its first packet, and the next four TID 1/2
 * frames, whole in time, were never shown. Without TID a receiver chains each frame to the one
 * before by PictureID (libwebrtc's RtpFrameIdOnlyRefFinder), as it does for a direct call's
 * single-layer stream: a late frame holds the ones after it until it is repaired, and then they
 * are all shown. The SFU forwards every temporal layer, so nothing is lost by hiding them.
 */

/** X in the first byte; I, L, T, K in the extension byte. */
const X = 0x80;
const I = 0x80;
const L = 0x40;
const T = 0x20;
const K = 0x10;
/** The 15-bit form of PictureID (M bit). */
const M = 0x80;
/** KEYIDX: the low five bits of the TID/KEYIDX byte. */
const KEYIDX_MASK = 0x1f;

/**
 * The packet without temporal layer indices in its VP8 payload descriptor, which starts at
 * `payloadStart`. The TID/KEYIDX byte goes when there is no KEYIDX in it: the RTP header and the
 * descriptor before the byte move up by one in place and the result is a view one byte shorter
 * (`payloadStart` stays right for it). With a KEYIDX only TID and Y are cleared. A packet with no
 * TID, or one cut short, comes back unchanged.
 */
export function withoutVp8TemporalLayer(packet: Buffer, payloadStart: number): Buffer {
  if (payloadStart < 0 || payloadStart + 1 >= packet.length || (packet[payloadStart]! & X) === 0) return packet;
  const extension = packet[payloadStart + 1]!;
  if ((extension & T) === 0) return packet;
  let at = payloadStart + 2;
  if (extension & I) {
    if (at >= packet.length) return packet;
    at += packet[at]! & M ? 2 : 1;
  }
  if (extension & L) at += 1;
  if (at >= packet.length) return packet;
  packet[payloadStart + 1] = extension & ~T;
  if (extension & K) {
    packet[at] = packet[at]! & KEYIDX_MASK;
    return packet;
  }
  packet.copyWithin(1, 0, at);
  return packet.subarray(1);
}
