/**
 * An MCU room's connection to its mixer process (docs/topologies.md, ARCHITECTURE.md "MCU"): the
 * recording tap's connection (`recording-tap.ts`) carries the room's published audio and who
 * listens to the mixer; the mixed audio comes back on the same connection, one output per
 * listener (those on the shared mix get the same Opus payload, each in a packet of its own
 * numbering), and goes to that listener's `MixedTrack`. Packets reach the mixer within FLUSH_MS of
 * their arrival here: a recording's 20 ms batching would add up to a frame of delay to the mix.
 */
import { WireFrameReader, type TrackDescription } from '../../recording/tracks/record-format.js';
import { MixRecordType, type InputEndedRecord, type ListenerRecord, type OutputRecord } from '../../mcu/mix-wire.js';
import { RecordingTap, type PacketRecorder, type TapTarget } from './recording-tap.js';

/** 1 ms: setTimeout's least; a 20 ms Opus frame of each publisher goes out on its own. */
const FLUSH_MS = 1;

export interface MixerLinkOptions {
  /** The mixer's port on 127.0.0.1 and its secret; `recording` names the room. */
  target: TapTarget;
  onError: (message: string) => void;
  /** One packet of `listener`'s mix, and when the newest input audio in it reached this worker. */
  onMixed: (listener: string, packet: Buffer, inputArrivalMs: number) => void;
}

export class MixerLink {
  private readonly tap: RecordingTap;
  private readonly reader = new WireFrameReader();
  /** Output number (the mixer's) -> listener. */
  private readonly outputs = new Map<number, string>();
  private readonly onMixed: MixerLinkOptions['onMixed'];
  private readonly onError: (message: string) => void;
  private broken = false;

  constructor(options: MixerLinkOptions) {
    this.onMixed = options.onMixed;
    this.onError = options.onError;
    this.tap = new RecordingTap(options.target, options.onError, { flushMs: FLUSH_MS, onData: (chunk) => this.onData(chunk), peer: `room ${options.target.recording}: the mixer` });
  }

  /** A recorder of one published audio track, for `PublishedTrack.addRecorder`. */
  input(description: TrackDescription): PacketRecorder {
    return this.tap.track(description);
  }

  /** A track given to `input` was unpublished (its recorder is no longer fed). */
  inputEnded(trackId: string): void {
    const record: InputEndedRecord = { trackId };
    this.tap.control(MixRecordType.inputEnded, Buffer.from(JSON.stringify(record)));
  }

  listener(participant: string, listening: boolean): void {
    const record: ListenerRecord = { participant, listening };
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
          const listener = this.outputs.get(frame.track);
          if (listener !== undefined && payload.length > 12) this.onMixed(listener, Buffer.from(payload), frame.body.readDoubleBE(4));
        } else if (frame.type === (MixRecordType.output as number)) {
          this.outputs.set(frame.track, (JSON.parse(payload.toString()) as OutputRecord).participant);
        }
      }
    } catch (error) {
      // A mixer that sends garbage is as good as gone: its supervisor restarts it.
      this.broken = true;
      this.onError(`the mixer sent a bad frame: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
