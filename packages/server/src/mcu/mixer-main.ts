/**
 * The mixer process of one room that mixes (MCU, or an SFU room with `mixed` receivers; forked by `mixer-process.ts`). Listens on 127.0.0.1 (an
 * ephemeral port, told to the parent) for the SFU worker's connection, whose first frame must
 * carry the room's name and secret; decodes the room's audio, and every 20 ms sends each listener
 * its mix back on the same connection (the shared mix, or a speaker's own mix-minus); the video
 * grids run on a thread of their own (`video/video-thread.ts`) and go back the same way. Once a
 * second it tells the parent its counters (`stats`: the `parley_mcu_*` metrics of docs/metrics.md).
 * A worker that connects again (its own restart, or the mixer's) replaces the previous connection
 * and starts a fresh mix.
 * Its own process: a crash here takes down neither signaling nor the SFU worker; the parent
 * restarts it and the worker's listeners hear the new one on the tracks they have.
 */
import { createServer, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { RecordType, WireFrameReader, wireFrameSize, writeWireFrame, type TrackDescription } from '../recording/tracks/record-format.js';
import { MixRecordType, type InputEndedRecord, type KeyframeRecord, type KeyframeRequestRecord, type ListenerRecord, type OutputRecord, type SpeakerRecord } from './mix-wire.js';
import { RoomMixer, type MixedPacket } from './room-mixer.js';
import { isMixerVideoCodec } from '../sfu/codecs.js';
import type { GridTier } from './video/grid.js';
import { VideoMixerThread } from './video/video-thread.js';

export interface MixerSettings {
  room: string;
  secret: string;
  /** Mix video into a grid too (ffmpeg's decoders and VP8 encoder); absent or null: audio only. */
  video?: MixerVideoSettings | null;
}

export interface MixerVideoSettings {
  ffmpegPath: string;
  /** What grids are encoded at, lowest first (`mcu.videoTiers`); each receiver's worker picks one. */
  tiers: GridTier[];
  /** Grids encoded at most per room (`mcu.maxGrids`); past it, more participants share the grid of everyone. */
  maxGrids: number;
}

/** What the mixer did since its previous `stats` message (counts are deltas; `sharedListeners` is the current figure). */
export interface MixerStats {
  ticks: number;
  encodes: number;
  lateTicks: number;
  sharedListeners: number;
  /** Video: grids drawn (a delta). */
  gridDraws: number;
  /** Video: decoders handed out started ahead (the spare) and started on demand, and spares that died waiting (deltas; `spare-pool.ts`). */
  warmDecoderStarts: number;
  coldDecoderStarts: number;
  spareDecoderDeaths: number;
}

export type MixerMessage = { event: 'listening'; port: number } | { event: 'failed'; error: string } | ({ event: 'stats' } & MixerStats);

const TICK_MS = 20;
/**
 * A tick that runs this much after its time is late: the voice buffers hold two frames (40 ms),
 * so one frame of lateness is what the mix absorbs without a gap; more eats into the margin the
 * network's jitter needs.
 */
const LATE_MS = TICK_MS;
const STATS_INTERVAL_MS = 1_000;
/** Behind the clock by more than this (a stalled process), the mixer starts its clock over rather than catch up in a burst. */
const MAX_LATE_MS = 100;

const settings = JSON.parse(process.env.PARLEY_MIXER ?? '{}') as MixerSettings;
const tell = (message: MixerMessage) => process.connected && process.send!(message);
const expected = Buffer.from(JSON.stringify({ recording: settings.room, secret: settings.secret }));

/** The worker's connection; `names`: display names by participant, from the track descriptions (the grid's placeholders show them). */
let current: { socket: Socket; mixer: RoomMixer; video: VideoMixerThread | undefined; names: Map<string, string> } | undefined;
/** Video outputs are numbered apart from the audio mix's (which count up from 1). */
const FIRST_VIDEO_OUTPUT = 0x8000;
const json = (payload: Buffer): unknown => JSON.parse(payload.toString());

function videoMixerFor(socket: Socket): VideoMixerThread | undefined {
  const video = settings.video;
  if (!video) return undefined;
  const outputs = new Map<string, number>();
  return new VideoMixerThread({
    settings: {
      ffmpegPath: video.ffmpegPath,
      tiers: video.tiers,
      maxGrids: video.maxGrids,
      // A keyframe every 4 s by itself; a receiver that needs one sooner asks (`keyframe` record).
      keyframeSeconds: 4,
    },
    send: (listener, packet, inputArrivalMs, tier) => {
      let number = outputs.get(listener);
      if (number === undefined) {
        number = FIRST_VIDEO_OUTPUT + outputs.size;
        outputs.set(listener, number);
        send(socket, number, MixRecordType.output, 0, Buffer.from(JSON.stringify({ participant: listener, kind: 'video' } satisfies OutputRecord)));
      }
      send(socket, number, MixRecordType.mixed, inputArrivalMs, packet, tier);
    },
    requestKeyframe: (trackId) => send(socket, 0, MixRecordType.keyframeRequest, 0, Buffer.from(JSON.stringify({ trackId } satisfies KeyframeRequestRecord))),
    onError: (error) => tell({ event: 'failed', error }),
  });
}

const server = createServer((socket) => {
  const reader = new WireFrameReader();
  const mixer = new RoomMixer();
  const names = new Map<string, string>();
  let video: VideoMixerThread | undefined;
  let trusted = false;
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    mixer.close();
    video?.close();
    if (current?.socket === socket) current = undefined;
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const frame of reader.push(chunk)) {
        const payload = WireFrameReader.payload(frame.body);
        if (!trusted) {
          trusted = frame.type === RecordType.hello && payload.length === expected.length && timingSafeEqual(payload, expected);
          if (!trusted) return void socket.destroy();
          current?.socket.destroy();
          // Only now: a connection that never proves itself the worker's starts no thread.
          video = videoMixerFor(socket);
          current = { socket, mixer, video, names };
          continue;
        }
        if (frame.type === RecordType.rtp || frame.type === RecordType.padding) {
          if (video?.hasInput(frame.track)) video.receive(frame.track, payload, frame.body.readDoubleBE(4), frame.body[1]!);
          else if (frame.type === RecordType.rtp) mixer.receive(frame.track, payload, frame.body.readDoubleBE(4));
        } else if (frame.type === RecordType.track) {
          const description = json(payload) as TrackDescription;
          if (typeof description.name === 'string') names.set(description.participant, description.name);
          if (description.kind === 'audio' && description.codec === 'opus') mixer.addInput(frame.track, description);
          else if (description.kind === 'video' && isMixerVideoCodec(description.codec)) video?.addInput(frame.track, description);
          tellAudioPublishers();
        } else if (frame.type === (MixRecordType.inputEnded as number)) {
          const { trackId } = json(payload) as InputEndedRecord;
          mixer.removeInput(trackId);
          video?.removeInput(trackId);
          tellAudioPublishers();
        } else if (frame.type === (MixRecordType.listener as number)) {
          const record = json(payload) as ListenerRecord;
          const output = mixer.setListener(record.participant, record.listening);
          // With the tier it starts on: no encoder started at the lowest only to move up a moment later.
          video?.setListener(record.participant, record.listening, record.tier);
          if (!record.listening) {
            mixer.removeInputsOf(record.participant);
            video?.removeInputsOf(record.participant);
            tellAudioPublishers();
          }
          if (output) send(socket, output.number, MixRecordType.output, 0, Buffer.from(JSON.stringify({ participant: output.listener } satisfies OutputRecord)));
        } else if (frame.type === (MixRecordType.keyframe as number)) {
          const record = json(payload) as KeyframeRecord;
          video?.requestKeyframe(record.participant, record.tier);
        } else if (frame.type === (MixRecordType.speaker as number)) {
          video?.setSpeaker((json(payload) as SpeakerRecord).participant ?? undefined);
        }
      }
    } catch (error) {
      tell({ event: 'failed', error: `the worker's connection sent a bad frame: ${error instanceof Error ? error.message : String(error)}` });
      socket.destroy();
    }
  });
});

/** `layer`: for a grid's packet, its tier (the worker switches its receiver at the new tier's keyframe). */
function send(socket: Socket, track: number, type: number, arrivalMs: number, payload: Buffer, layer = 0): void {
  const frame = Buffer.allocUnsafe(wireFrameSize(payload.length));
  writeWireFrame(frame, 0, track, type as RecordType, layer, arrivalMs, payload);
  socket.write(frame);
}

function sendMixed(socket: Socket, packets: MixedPacket[]): void {
  if (packets.length === 0) return;
  let size = 0;
  for (const { packet } of packets) size += wireFrameSize(packet.length);
  const batch = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const { output, packet, inputArrivalMs } of packets) offset = writeWireFrame(batch, offset, output, MixRecordType.mixed as unknown as RecordType, 0, inputArrivalMs, packet);
  socket.write(batch);
}

// The mixer's clock: a tick every 20 ms of wall time, scheduled from the start rather than from
// the previous tick, so the timer's lateness does not add up.
let clockStart = performance.now();
let ticks = 0;
const stats: MixerStats = { ticks: 0, encodes: 0, lateTicks: 0, sharedListeners: 0, gridDraws: 0, warmDecoderStarts: 0, coldDecoderStarts: 0, spareDecoderDeaths: 0 };
function tick(): void {
  ticks += 1;
  // This tick was due at clockStart + ticks * TICK_MS.
  if (performance.now() - (clockStart + ticks * TICK_MS) > LATE_MS) stats.lateTicks += 1;
  if (current) {
    const encodedBefore = current.mixer.encodes;
    sendMixed(current.socket, current.mixer.tick());
    stats.encodes += current.mixer.encodes - encodedBefore;
    stats.sharedListeners = current.mixer.sharedListeners;
  } else stats.sharedListeners = 0;
  stats.ticks += 1;
  let next = clockStart + ticks * TICK_MS;
  const now = performance.now();
  if (now - next > MAX_LATE_MS) {
    clockStart = now;
    ticks = 0;
    next = now + TICK_MS;
  }
  setTimeout(tick, Math.max(0, next - now));
}

/**
 * Who the audio mix has a voice of, with their display names: the grids draw a placeholder for
 * each one without video. Told as soon as a track record changes it (a 200 ms poll added up to
 * 200 ms to a joiner's placeholder); `setAudioPublishers` posts only a change.
 */
function tellAudioPublishers(): void {
  if (!current?.video) return;
  const { mixer, names, video } = current;
  video.setAudioPublishers(new Map([...mixer.speakers].map((participant) => [participant, names.get(participant) ?? participant])));
}

/** The video thread's running totals as last added to the stats message (a new thread starts from 0). */
const noVideo = { draws: 0, warm: 0, cold: 0, died: 0 };
let reported = noVideo;
let reportedFor: VideoMixerThread | undefined;
function videoCheck(): void {
  const video = current?.video;
  if (!video) return;
  if (reportedFor !== video) [reportedFor, reported] = [video, noVideo];
  const now = { draws: video.draws, ...video.decoderStarts };
  stats.gridDraws += now.draws - reported.draws;
  stats.warmDecoderStarts += now.warm - reported.warm;
  stats.coldDecoderStarts += now.cold - reported.cold;
  stats.spareDecoderDeaths += now.died - reported.died;
  reported = now;
}

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') tell({ event: 'listening', port: address.port });
  clockStart = performance.now();
  setTimeout(tick, TICK_MS);
  if (settings.video) setInterval(videoCheck, 200);
  setInterval(() => {
    tell({ event: 'stats', ...stats });
    stats.ticks = stats.encodes = stats.lateTicks = stats.gridDraws = stats.warmDecoderStarts = stats.coldDecoderStarts = stats.spareDecoderDeaths = 0;
  }, STATS_INTERVAL_MS).unref();
});
