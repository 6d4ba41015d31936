/**
 * Placing a track on the room's clock (pure). A publisher's RTCP sender report pairs an RTP
 * timestamp with its NTP wall-clock time; every track of one publisher shares that wall clock
 * (that is how a receiver lip-syncs), so a track's first sample gets a time on it. Tracks of
 * different publishers are placed with their own clocks, whose offsets are their machines' clock
 * differences; the SFU's arrival time of the first packet is kept next to it for that reason.
 */
import type { SenderReportRecord } from './record-format.js';

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

export function ntpToUnixMs(ntpSeconds: number, ntpFraction: number): number {
  return (ntpSeconds - NTP_UNIX_OFFSET) * 1000 + (ntpFraction / 2 ** 32) * 1000;
}

/** Signed distance from RTP timestamp `a` to `b` in 32-bit space. */
export function timestampDelta(a: number, b: number): number {
  const delta = ((b - a) >>> 0) | 0;
  return delta;
}

/** The wall-clock time (ms since the Unix epoch, the publisher's clock) of RTP timestamp `rtp`. */
export function rtpToUnixMs(rtp: number, report: SenderReportRecord, clockRate: number): number {
  return ntpToUnixMs(report.ntpSeconds, report.ntpFraction) + (timestampDelta(report.rtpTimestamp, rtp) / clockRate) * 1000;
}
