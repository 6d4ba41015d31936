/**
 * A room's connection to its mixer process (docs/topologies.md, ARCHITECTURE.md "MCU"): the
 * recording tap's connection (`recording-tap.ts`) carries the room's published audio and video
 * (one layer) and who listens to the mixer; the mixes come back on the same connection, an audio
 * and a video output per listener (those on a shared mix get the same payloads, each in packets
 * of their own numbering), and go to that listener's `MixedTrack`s. Packets reach the mixer within FLUSH_MS of
 * their arrival here: a recording's 20 ms batching would add up to a frame of delay to the mix.
 */
import { WireFrameReader, type TrackDescription } from '../../recording/tracks/record-format.js';
import { MixRecordType, type InputEndedRecord, type KeyframeRecord, type KeyframeRequestRecord, type ListenerRecord, type OutputRecord, type SpeakerRecord } from '../../mcu/mix-wire.js';
import { RecordingTap, type PacketRecorder, type TapTarget } from './recording-tap.js';

/** 1 ms: setTimeout's least; a 20 ms Opus frame of each publisher goes out on its own. */
const FLUSH_MS = 1;

export interface MixerLinkOptions {
  /** The mixer's port on 127.0.0.1 and its secret; `recording` names the room. */
  target: TapTarget;
  onError: (message: string) => void;
  /** One packet of `listener`'s audio or video mix, and when the newest input in it reached this worker. */
  onMixed: (listener: string, packet: Buffer, inputArrivalMs: number, kind: 'audio' | 'video', tier: number) => void;
  /** The mixer lost a published video's picture. */
  onKeyframeRequest?: (trackId: string) => void;
}

export class MixerLink {
  private readonly tap: RecordingTap;
  private readonly reader = new WireFrameReader();
  /** Output number (the mixer's) -> listener and kind. */
  private readonly outputs = new Map<number, { listener: string; kind: 'audio' | 'video' }>();
  private readonly onMixed: MixerLinkOptions['onMixed'];
  private readonly onKeyframeRequest: MixerLinkOptions['onKeyframeRequest'];
  private readonly onError: (message: string) => void;
  private broken = false;

  constructor(options: MixerLinkOptions) {
    this.onMixed = options.onMixed;
    this.onKeyframeRequest = options.onKeyframeRequest;
    this.onError = options.onError;
    this.tap = new RecordingTap(options.target, options.onError, { flushMs: FLUSH_MS, onData: (chunk) => this.onData(chunk), peer: `room ${options.target.recording}: the mixer` });
  }

  /** A recorder of one published track (of one layer, for video), for `PublishedTrack.addRecorder`. */
  input(description: TrackDescription, only?: { layer: number }): PacketRecorder {
    return this.tap.track(description, only);
  }

  /** A keyframe of `listener`'s grid at `tier` (its browser lost the picture, or its downlink chose that tier). */
  keyframe(listener: string, tier: number): void {
    const record: KeyframeRecord = { participant: listener, tier };
    this.tap.control(MixRecordType.keyframe, Buffer.from(JSON.stringify(record)));
  }

  speaker(participant: string | undefined): void {
    const record: SpeakerRecord = { participant: participant ?? null };
    this.tap.control(MixRecordType.speaker, Buffer.from(JSON.stringify(record)));
  }

  /** A track given to `input` was unpublished (its recorder is no longer fed). */
  inputEnded(trackId: string): void {
    const record: InputEndedRecord = { trackId };
    this.tap.control(MixRecordType.inputEnded, Buffer.from(JSON.stringify(record)));
  }

  /** `tier`: the grid tier it starts on (its downlink's first estimate allows, or what it had before a mixer restart). */
  listener(participant: string, listening: boolean, tier?: number): void {
    const record: ListenerRecord = { participant, listening, ...(tier !== undefined ? { tier } : {}) };
    this.tap.control(MixRecordType.listener, Buffer.from(JSON.stringify(record)));
  }

  close(): void {
    this.tap.close();
  }

  private onData(chunk: Buffer): void {
    if (this.broken) return;
    try {
      for (const frame of this.reader.push(chunk)) {
        const payload = WireFrameReader.payload(frame.body);
        if (frame.type === (MixRecordType.mixed as number)) {
          const output = this.outputs.get(frame.track);
          if (output !== undefined && payload.length > 12) this.onMixed(output.listener, Buffer.from(payload), frame.body.readDoubleBE(4), output.kind, frame.body[1]!);
        } else if (frame.type === (MixRecordType.output as number)) {
          const record = JSON.parse(payload.toString()) as OutputRecord;
          this.outputs.set(frame.track, { listener: record.participant, kind: record.kind ?? 'audio' });
        } else if (frame.type === (MixRecordType.keyframeRequest as number)) {
          this.onKeyframeRequest?.((JSON.parse(payload.toString()) as KeyframeRequestRecord).trackId);
        }
      }
    } catch (error) {
      // A mixer that sends garbage is as good as gone: its supervisor restarts it.
      this.broken = true;
      this.onError(`the mixer sent a bad frame: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
