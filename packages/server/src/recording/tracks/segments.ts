/**
 * A track recorded across SFU worker restarts (pure). Each worker connection to the recorder is a
 * segment (`s<segment>-t<track>.prec`); after a restart the publisher's SDK publishes its tracks
 * again on the new worker, with a new track id, SSRC, sequence numbers and RTP timestamps. So a
 * later segment's track is matched to the earlier one by who published it and what it is
 * (participant, source, kind), and placed on the room's clock (the SFU's arrival times, one clock
 * for every segment) after it: the time the restart took is a gap in the file, not a cut.
 */
import type { TrackDescription } from './record-format.js';

export interface SegmentFile {
  segment: number;
  track: number;
  description: TrackDescription;
}

const sameTrack = (a: TrackDescription, b: TrackDescription) => a.participant === b.participant && a.source === b.source && a.kind === b.kind;

/**
 * Raw files grouped into output tracks, each group's files in segment order. A file joins the
 * group of an earlier segment's file of the same participant, source and kind (the first such
 * group not already extended by this segment); otherwise it starts a group. Groups come in the
 * order of their first file (segment, then track number).
 */
export function groupSegments<T extends SegmentFile>(files: readonly T[]): T[][] {
  const sorted = [...files].sort((a, b) => a.segment - b.segment || a.track - b.track);
  const groups: T[][] = [];
  for (const file of sorted) {
    const group = groups.find((candidate) => {
      const last = candidate[candidate.length - 1]!;
      return last.segment < file.segment && sameTrack(last.description, file.description);
    });
    if (group) group.push(file);
    else groups.push([file]);
  }
  return groups;
}

export interface SegmentSpan {
  /** When the segment's first frame (or audio packet) arrived at the SFU, ms since the Unix epoch. */
  firstArrivalMs: number;
  /** From its first sample to the end of its last, in clock ticks. */
  durationTicks: number;
}

export interface SegmentPlacement {
  /** Where the segment starts in the output file, in clock ticks from the first segment's start. */
  offsetTicks: number;
  /** Ticks of nothing between the previous segment's end and this one (0 for the first). */
  gapTicks: number;
}

/**
 * Each segment at its arrival time relative to the first, never overlapping the one before (the
 * arrival clock and a segment's RTP duration can disagree by a frame or so: a segment starting
 * inside its predecessor is moved to its end, so the file's timestamps only go up).
 */
export function placeSegments(spans: readonly SegmentSpan[], clockRate: number): SegmentPlacement[] {
  const placements: SegmentPlacement[] = [];
  let end = 0;
  spans.forEach((span, index) => {
    if (index === 0) {
      placements.push({ offsetTicks: 0, gapTicks: 0 });
      end = span.durationTicks;
      return;
    }
    const atArrival = Math.round(((span.firstArrivalMs - spans[0]!.firstArrivalMs) * clockRate) / 1000);
    const offsetTicks = Math.max(atArrival, end);
    placements.push({ offsetTicks, gapTicks: offsetTicks - end });
    end = offsetTicks + span.durationTicks;
  });
  return placements;
}
