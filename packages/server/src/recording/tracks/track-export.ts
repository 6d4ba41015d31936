/**
 * One recorded track's raw records to a playable file: the layer to keep, packets in order, frames
 * (video) or Opus packets (audio) with RTP-time timestamps in IVF or Ogg, then `ffmpeg -c copy`
 * into WebM (VP8, VP9, Opus) or Matroska (H.264). The description of what was done goes into the
 * recording's manifest.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { probeDuration, RemuxError, runTool, type RemuxTools } from '../remux.js';
import { rtpToUnixMs } from './clock.js';
import { ivfFrameHeader, ivfHeader, OggOpusWriter, opusPacketSamples } from './containers.js';
import { payloadEnd, payloadOffset } from '../../sfu/rtp/rtp.js';
import { startsKeyframe, type VideoCodecName } from '../../sfu/rtp/keyframe.js';
import { assembleFrames } from './frames.js';
import { orderPackets, type InputPacket } from './packet-order.js';
import { placeSegments } from './segments.js';
import { decodeSenderReport, RecordType, type RawRecord, type SenderReportRecord, type TrackDescription } from './record-format.js';

export interface ManifestTrack {
  trackId: string;
  participant: string;
  source: string;
  kind: 'audio' | 'video';
  codec: TrackDescription['codec'];
  /** The output file (in the recording), or null when nothing could be made of the track. */
  file: string | null;
  /** Simulcast: the layer kept (every layer is in the raw records). */
  layer: { index: number; rid: string | null };
  ssrc: number | null;
  clockRate: number;
  /** RTP timestamp of the file's first frame or packet. */
  firstRtpTimestamp: number | null;
  /** The file's start on the publisher's wall clock (sender reports' NTP), ms since the Unix epoch; null without a sender report. */
  startNtpMs: number | null;
  /** The file's start on the SFU's clock: when its first packet arrived (ms since the Unix epoch). */
  startArrivalMs: number | null;
  /** From RTP time: the last frame's timestamp less the first's, plus one frame. */
  rtpDurationSeconds: number;
  /** What ffprobe reads from the file. */
  durationSeconds: number | null;
  packets: number;
  duplicates: number;
  /** Holes in the sequence numbers: when (seconds into the file) and how many packets. */
  gaps: Array<{ atSeconds: number; missing: number }>;
  /** Video: frames missing a packet, and whole frames left out until the next keyframe. */
  brokenFrames: number;
  skippedFrames: number;
  senderReports: number;
  /** Why the file could not be made, when it could not. */
  error?: string;
}

/** A track's manifest entry before anything is exported: its description, and every figure at zero. */
export function blankTrack(description: TrackDescription, layer: number, ssrc: number | null): ManifestTrack {
  return {
    trackId: description.trackId,
    participant: description.participant,
    source: description.source,
    kind: description.kind,
    codec: description.codec,
    file: null,
    layer: { index: layer, rid: description.rids[layer] ?? null },
    ssrc,
    clockRate: description.clockRate,
    firstRtpTimestamp: null,
    startNtpMs: null,
    startArrivalMs: null,
    rtpDurationSeconds: 0,
    durationSeconds: null,
    packets: 0,
    duplicates: 0,
    gaps: [],
    brokenFrames: 0,
    skippedFrames: 0,
    senderReports: 0,
  };
}

/** One segment of a track (one SFU worker's connection): its raw records, in arrival order. */
export interface TrackSegment {
  segment: number;
  records: readonly RawRecord[];
}

/** Where each segment sits in the file (`segments`), and the time between them (`segmentGaps`: SFU worker restarts). */
export interface SegmentEntry {
  segment: number;
  layer: { index: number; rid: string | null };
  ssrc: number | null;
  startArrivalMs: number | null;
  startSeconds: number;
  durationSeconds: number;
}

export interface ExportTrackOptions {
  description: TrackDescription;
  /** Its segments in order; most tracks have one. */
  segments: readonly TrackSegment[];
  /** Where the intermediate and final files are written. */
  directory: string;
  /** The output's base name (no extension). */
  name: string;
  tools: RemuxTools;
}

/**
 * The layer to keep: the highest whose decodable part (video: from its first keyframe; audio: its
 * packets) spans (nearly) as long as the longest; else the longest. Packets alone are not enough:
 * a layer can carry packets from the start and its first keyframe only seconds later (a keyframe
 * request lost under load), and everything before that keyframe is left out of the file.
 */
export function chooseLayer(records: readonly RawRecord[], codec?: VideoCodecName): number {
  const spans = new Map<number, { first: number; last: number }>();
  const seen = new Map<number, { first: number; last: number }>();
  for (const record of records) {
    if (record.type !== RecordType.rtp) continue;
    widen(seen, record);
    if (spans.has(record.layer) || !codec || startsKeyframeRecord(codec, record.payload)) widen(spans, record);
  }
  // No keyframe in any layer: nothing decodes, and the layer with the most packets is as good as any.
  const chosenFrom = spans.size > 0 ? spans : seen;
  if (chosenFrom.size === 0) return 0;
  const length = (layer: number) => chosenFrom.get(layer)!.last - chosenFrom.get(layer)!.first;
  const longest = Math.max(...[...chosenFrom.keys()].map(length));
  const layers = [...chosenFrom.keys()].sort((a, b) => b - a);
  return layers.find((layer) => length(layer) >= 0.9 * longest) ?? layers[0]!;
}

function widen(spans: Map<number, { first: number; last: number }>, record: RawRecord): void {
  const span = spans.get(record.layer);
  if (!span) spans.set(record.layer, { first: record.arrivalMs, last: record.arrivalMs });
  else span.last = Math.max(span.last, record.arrivalMs);
}

function startsKeyframeRecord(codec: VideoCodecName, packet: Buffer): boolean {
  if (packet.length < 12) return false;
  const start = payloadOffset(packet);
  const end = payloadEnd(packet);
  return start >= 0 && end > start && startsKeyframe(codec, packet.subarray(start, end));
}

interface SegmentMedia {
  segment: number;
  layer: number;
  ssrc: number | null;
  reports: SenderReportRecord[];
  ordered: ReturnType<typeof orderPackets>;
  /** Audio: Opus packets; video: frames. Timestamps are unwrapped RTP time. */
  audio: Array<{ timestamp: number; payload: Buffer; samples: number }>;
  video: ReturnType<typeof assembleFrames> | undefined;
  first: { timestamp: number; arrivalMs: number } | undefined;
  durationTicks: number;
}

function segmentMedia(description: TrackDescription, segment: TrackSegment): SegmentMedia {
  const { records } = segment;
  const layer = chooseLayer(records, description.codec === 'opus' ? undefined : description.codec);
  const input: InputPacket[] = [];
  for (const record of records) {
    if (record.layer === layer && (record.type === RecordType.rtp || record.type === RecordType.padding)) input.push({ packet: record.payload, arrivalMs: record.arrivalMs });
  }
  const ssrc = input[0] && input[0].packet.length >= 12 ? input[0].packet.readUInt32BE(8) : null;
  const reports = records
    .filter((record) => record.type === RecordType.senderReport)
    .map((record) => decodeSenderReport(record.payload))
    .filter((report): report is SenderReportRecord => report !== undefined && report.ssrc === ssrc);
  const ordered = orderPackets(input);
  const media: SegmentMedia = { segment: segment.segment, layer, ssrc, reports, ordered, audio: [], video: undefined, first: undefined, durationTicks: 0 };
  if (description.kind === 'audio') {
    for (const packet of ordered.packets) {
      const samples = opusPacketSamples(packet.payload);
      if (samples > 0) media.audio.push({ timestamp: packet.timestamp, payload: packet.payload, samples });
    }
    const [start, last] = [media.audio[0], media.audio[media.audio.length - 1]];
    if (start && last) {
      media.first = { timestamp: start.timestamp, arrivalMs: ordered.packets.find((packet) => packet.timestamp === start.timestamp)?.arrivalMs ?? 0 };
      media.durationTicks = last.timestamp - start.timestamp + last.samples;
    }
  } else if (description.codec !== 'opus') {
    media.video = assembleFrames(description.codec, ordered.packets);
    const frames = media.video.frames;
    const start = frames[0];
    if (start) {
      media.first = { timestamp: start.timestamp, arrivalMs: ordered.packets.find((packet) => packet.timestamp === start.timestamp)?.arrivalMs ?? 0 };
      const last = frames[frames.length - 1]!;
      const frameTicks = frames.length > 1 ? (last.timestamp - start.timestamp) / (frames.length - 1) : 0;
      media.durationTicks = last.timestamp - start.timestamp + frameTicks;
    }
  }
  return media;
}

export async function exportTrack(options: ExportTrackOptions): Promise<ManifestTrack & { segments: SegmentEntry[]; segmentGaps: Array<{ atSeconds: number; seconds: number }> }> {
  const { description } = options;
  const clockRate = description.clockRate;
  const all = options.segments.map((segment) => segmentMedia(description, segment));
  // Segments with no decodable media add nothing to the file.
  const media = all.filter((segment) => segment.first !== undefined);
  const head = media[0] ?? all[0]!;
  const base: ManifestTrack = {
    ...blankTrack(description, head.layer, head.ssrc),
    packets: all.reduce((sum, s) => sum + s.ordered.packets.length, 0),
    duplicates: all.reduce((sum, s) => sum + s.ordered.duplicates, 0),
    senderReports: all.reduce((sum, s) => sum + s.reports.length, 0),
    brokenFrames: all.reduce((sum, s) => sum + (s.video?.broken ?? 0), 0),
    skippedFrames: all.reduce((sum, s) => sum + (s.video?.skipped ?? 0), 0),
  };
  const placements = placeSegments(media.map((s) => ({ firstArrivalMs: s.first!.arrivalMs, durationTicks: s.durationTicks })), clockRate);
  const container = description.codec === 'h264' || description.codec === 'av1' ? 'mkv' : 'webm';
  const file = `${options.name}.${container}`;
  let intermediate: string;
  if (description.kind === 'audio') {
    const ogg = new OggOpusWriter(head.ssrc ?? 1, description.channels ?? 2);
    const total = media.reduce((sum, s) => sum + s.audio.length, 0);
    let written = 0;
    media.forEach((segment, index) => {
      const origin = segment.first!.timestamp;
      for (const packet of segment.audio) ogg.packet(packet.payload, placements[index]!.offsetTicks + packet.timestamp - origin + packet.samples, ++written === total);
    });
    intermediate = join(options.directory, `${options.name}.ogg`);
    await writeFile(intermediate, Buffer.concat(ogg.pages));
  } else {
    if (description.codec === 'opus') return { ...base, error: 'an Opus track described as video', segments: [], segmentGaps: [] };
    const size = media.find((s) => s.video?.size)?.video?.size ?? { width: 0, height: 0 };
    const frameCount = media.reduce((sum, s) => sum + s.video!.frames.length, 0);
    const parts: Buffer[] = [ivfHeader(description.codec, size.width, size.height, frameCount, clockRate)];
    media.forEach((segment, index) => {
      const origin = segment.first!.timestamp;
      for (const frame of segment.video!.frames) parts.push(ivfFrameHeader(frame.data.length, placements[index]!.offsetTicks + frame.timestamp - origin), frame.data);
    });
    intermediate = join(options.directory, `${options.name}.ivf`);
    await writeFile(intermediate, Buffer.concat(parts));
  }
  if (!head.first) return { ...base, error: 'no decodable media arrived for this track', segments: [], segmentGaps: [] };
  const origin = head.first;
  base.firstRtpTimestamp = origin.timestamp % 2 ** 32;
  base.startArrivalMs = origin.arrivalMs;
  base.startNtpMs = head.reports[0] ? rtpToUnixMs(base.firstRtpTimestamp, head.reports[0], clockRate) : null;
  const lastIndex = media.length - 1;
  base.rtpDurationSeconds = (placements[lastIndex]!.offsetTicks + media[lastIndex]!.durationTicks) / clockRate;
  base.gaps = media.flatMap((segment, index) =>
    segment.ordered.gaps.map((gap) => ({ atSeconds: (placements[index]!.offsetTicks + Math.max(0, gap.timestamp - segment.first!.timestamp)) / clockRate, missing: gap.missing })),
  );
  const segments = media.map((segment, index) => ({
    segment: segment.segment,
    layer: { index: segment.layer, rid: description.rids[segment.layer] ?? null },
    ssrc: segment.ssrc,
    startArrivalMs: segment.first!.arrivalMs,
    startSeconds: placements[index]!.offsetTicks / clockRate,
    durationSeconds: segment.durationTicks / clockRate,
  }));
  const segmentGaps = placements.slice(1).map((placement) => ({ atSeconds: (placement.offsetTicks - placement.gapTicks) / clockRate, seconds: placement.gapTicks / clockRate }));
  const output = join(options.directory, file);
  const { code, stderr } = await runTool(options.tools.ffmpegPath, ['-nostdin', '-v', 'error', '-y', '-i', intermediate, '-map', '0', '-c', 'copy', '-f', container === 'webm' ? 'webm' : 'matroska', output]);
  if (code !== 0) throw new RemuxError(`ffmpeg could not write ${file} (exit ${code}): ${stderr.slice(-400)}`, 'FFMPEG_FAILED');
  return { ...base, file, durationSeconds: await probeDuration(options.tools, output), segments, segmentGaps };
}
