/**
 * The SFU worker's side of a server recording (docs/recording.md): a copy of each recorded track's
 * RTP and sender reports, streamed over one loopback TCP connection to the recorder process, which
 * writes the files. An MCU room's mixer takes its audio the same way (`mixer-link.ts`), with a
 * shorter flush and the mixed audio coming back on the same connection. The hot path only appends a packet to a batch buffer (a copy, no syscall);
 * the batch is written every FLUSH_MS or when full. A recorder that stops reading never slows
 * forwarding: past MAX_QUEUED_BYTES the tap drops what it would have sent, and counts it.
 */
import { connect, type Socket } from 'node:net';
import { RecordType, wireFrameSize, writeWireFrame, encodeSenderReport, type TrackDescription } from '../../recording/tracks/record-format.js';

/** A batch goes out at least this often (a recorder crash loses at most this much more than the kernel holds). */
const FLUSH_MS = 20;
const BATCH_BYTES = 128 * 1024;
/** Bytes waiting in the socket past which the tap drops (~3 s of a 2.5 Mbit/s camera). */
const MAX_QUEUED_BYTES = 1024 * 1024;

export interface TapTarget {
  recording: string;
  port: number;
  secret: string;
}

export interface TapOptions {
  /** How long a packet may wait in the batch (default FLUSH_MS: a recording needs no haste). */
  flushMs?: number;
  /** What the other end sends back (the mixer's mixed audio); a recorder sends nothing. */
  onData?: (chunk: Buffer) => void;
  /** Names the other end in error messages (default: the recording's recorder). */
  peer?: string;
}

/** What a published track calls for each packet it records (`PublishedTrack.recorders`). */
export interface PacketRecorder {
  /** Only this simulcast layer (the mixer's feed, moved to another when it stops); absent: every layer (a recording). */
  layer?: number;
  rtp(layer: number, packet: Buffer): void;
  padding(layer: number, packet: Buffer): void;
  senderReport(layer: number, report: { ssrc: number; ntpSeconds: number; ntpFraction: number; rtpTimestamp: number }): void;
}

const now = () => performance.timeOrigin + performance.now();

export class RecordingTap {
  private readonly socket: Socket;
  private batch: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  /** Batch buffers the socket has finished writing. */
  private readonly spare: Buffer[] = [];
  private used = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextTrack = 1;
  private closed = false;
  private readonly flushMs: number;
  private readonly peer: string;
  /** Bytes not sent because the recorder fell behind or was gone. */
  droppedBytes = 0;
  /** Bytes handed to the connection: the recorder, told this at its stop, waits until it has them all. */
  sentBytes = 0;

  constructor(
    readonly target: TapTarget,
    private readonly onError: (message: string) => void,
    options: TapOptions = {},
  ) {
    this.flushMs = options.flushMs ?? FLUSH_MS;
    this.peer = options.peer ?? `recording ${target.recording}: the recorder`;
    this.socket = connect({ host: '127.0.0.1', port: target.port });
    if (options.onData) this.socket.on('data', options.onData);
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => {
      if (!this.closed) this.onError(`${this.peer} connection failed: ${error.message}`);
      this.closed = true;
    });
    this.socket.on('close', () => (this.closed = true));
    this.append(0, RecordType.hello, 0, Buffer.from(JSON.stringify({ recording: target.recording, secret: target.secret })));
  }

  /** A recorder for one track: its description goes first. */
  track(description: TrackDescription, only?: { layer: number }): PacketRecorder {
    const number = this.nextTrack++;
    this.append(number, RecordType.track, 0, Buffer.from(JSON.stringify(description)));
    const padding = Buffer.allocUnsafe(12);
    return {
      ...(only ? { layer: only.layer } : {}),
      rtp: (layer, packet) => this.append(number, RecordType.rtp, layer, packet),
      // Only its sequence number matters: the fixed header, marked as carrying nothing else.
      padding: (layer, packet) => {
        packet.copy(padding, 0, 0, 12);
        padding[0] = 0x80;
        this.append(number, RecordType.padding, layer, padding);
      },
      senderReport: (layer, report) => this.append(number, RecordType.senderReport, layer, encodeSenderReport(report)),
    };
  }

  /** A frame of the caller's own type (the mixer's listener records), in order with the packets. */
  control(type: number, payload: Uint8Array): void {
    this.append(0, type as RecordType, 0, payload);
  }

  private append(track: number, type: RecordType, layer: number, payload: Uint8Array): void {
    const size = wireFrameSize(payload.length);
    if (this.closed) {
      this.droppedBytes += size;
      return;
    }
    if (this.used + size > this.batch.length) this.flush();
    if (size > this.batch.length) return void (this.droppedBytes += size);
    this.used = writeWireFrame(this.batch, this.used, track, type, layer, now(), payload);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    if (this.closed || this.socket.writableLength > MAX_QUEUED_BYTES) {
      this.droppedBytes += this.used;
    } else {
      // The socket holds the buffer until it is written; then it is reused, so a recording
      // allocates a couple of batch buffers, not one per flush (garbage the worker would collect).
      const full = this.batch;
      this.socket.write(full.subarray(0, this.used), () => this.spare.push(full));
      this.sentBytes += this.used;
      this.batch = this.spare.pop() ?? Buffer.allocUnsafe(BATCH_BYTES);
    }
    this.used = 0;
  }

  /** Sends what is batched and ends the connection (the recorder then closes its files). */
  close(): void {
    this.flush();
    this.closed = true;
    this.socket.end();
  }
}
