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
import { assembleFrames } from './frames.js';
import { orderPackets, type InputPacket } from './packet-order.js';
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

export interface ExportTrackOptions {
  description: TrackDescription;
  records: readonly RawRecord[];
  /** Where the intermediate and final files are written. */
  directory: string;
  /** The output's base name (no extension). */
  name: string;
  tools: RemuxTools;
}

/** The layer to keep: the highest whose packets span (nearly) the whole track; else the longest. */
export function chooseLayer(records: readonly RawRecord[]): number {
  const spans = new Map<number, { first: number; last: number }>();
  for (const record of records) {
    if (record.type !== RecordType.rtp) continue;
    const span = spans.get(record.layer);
    if (!span) spans.set(record.layer, { first: record.arrivalMs, last: record.arrivalMs });
    else span.last = Math.max(span.last, record.arrivalMs);
  }
  if (spans.size === 0) return 0;
  const length = (layer: number) => spans.get(layer)!.last - spans.get(layer)!.first;
  const longest = Math.max(...[...spans.keys()].map(length));
  const layers = [...spans.keys()].sort((a, b) => b - a);
  return layers.find((layer) => length(layer) >= 0.9 * longest) ?? layers[0]!;
}

export async function exportTrack(options: ExportTrackOptions): Promise<ManifestTrack> {
  const { description, records } = options;
  const layer = chooseLayer(records);
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
  const base: ManifestTrack = { ...blankTrack(description, layer, ssrc), packets: ordered.packets.length, duplicates: ordered.duplicates, senderReports: reports.length };
  const container = description.codec === 'h264' || description.codec === 'av1' ? 'mkv' : 'webm';
  const file = `${options.name}.${container}`;
  let intermediate: string;
  let first: { timestamp: number; arrivalMs: number } | undefined;
  let rtpDuration = 0;
  if (description.kind === 'audio') {
    const ogg = new OggOpusWriter(ssrc ?? 1, description.channels ?? 2);
    const packets = ordered.packets.filter((packet) => opusPacketSamples(packet.payload) > 0);
    packets.forEach((packet, index) => {
      first ??= packet;
      const end = packet.timestamp - first.timestamp + opusPacketSamples(packet.payload);
      ogg.packet(packet.payload, end, index === packets.length - 1);
      rtpDuration = end / description.clockRate;
    });
    intermediate = join(options.directory, `${options.name}.ogg`);
    await writeFile(intermediate, Buffer.concat(ogg.pages));
  } else {
    const codec = description.codec;
    if (codec === 'opus') return { ...base, error: 'an Opus track described as video' };
    const assembly = assembleFrames(codec, ordered.packets);
    base.brokenFrames = assembly.broken;
    base.skippedFrames = assembly.skipped;
    const frames = assembly.frames;
    const start = frames[0];
    if (start) {
      const arrival = ordered.packets.find((packet) => packet.timestamp === start.timestamp)?.arrivalMs ?? 0;
      first = { timestamp: start.timestamp, arrivalMs: arrival };
      const last = frames[frames.length - 1]!;
      const frameTicks = frames.length > 1 ? (last.timestamp - start.timestamp) / (frames.length - 1) : 0;
      rtpDuration = (last.timestamp - start.timestamp + frameTicks) / description.clockRate;
    }
    const size = assembly.size ?? { width: 0, height: 0 };
    const parts: Buffer[] = [ivfHeader(codec, size.width, size.height, frames.length, description.clockRate)];
    for (const frame of frames) parts.push(ivfFrameHeader(frame.data.length, frame.timestamp - start!.timestamp), frame.data);
    intermediate = join(options.directory, `${options.name}.ivf`);
    await writeFile(intermediate, Buffer.concat(parts));
  }
  if (!first) return { ...base, error: 'no decodable media arrived for this track' };
  const origin = first;
  base.firstRtpTimestamp = origin.timestamp % 2 ** 32;
  base.startArrivalMs = origin.arrivalMs;
  base.startNtpMs = reports[0] ? rtpToUnixMs(base.firstRtpTimestamp, reports[0], description.clockRate) : null;
  base.rtpDurationSeconds = rtpDuration;
  base.gaps = ordered.gaps.map((gap) => ({ atSeconds: Math.max(0, (gap.timestamp - origin.timestamp) / description.clockRate), missing: gap.missing }));
  const output = join(options.directory, file);
  const { code, stderr } = await runTool(options.tools.ffmpegPath, ['-nostdin', '-v', 'error', '-y', '-i', intermediate, '-map', '0', '-c', 'copy', '-f', container === 'webm' ? 'webm' : 'matroska', output]);
  if (code !== 0) throw new RemuxError(`ffmpeg could not write ${file} (exit ${code}): ${stderr.slice(-400)}`, 'FFMPEG_FAILED');
  return { ...base, file, durationSeconds: await probeDuration(options.tools, output) };
}
