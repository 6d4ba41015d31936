/**
 * Video frames from RTP packets as they arrive (pure): the live counterpart of the recording's
 * `assembleFrames` (`recording/tracks/frames.ts`), which sees a whole call at once. Packets may come
 * out of order, twice, or late (the SFU asks the publisher to resend what it lost: a resend
 * arrives one round trip after the hole shows). A frame goes out once its packets from the one that
 * begins it to the one with the marker are all here, in order after the previous frame. A hole
 * still open after `maxWaitMs` is a loss the resends did not repair: the frames after it refer to
 * what is missing, so everything up to the next keyframe is dropped and a keyframe is asked for
 * (`needKeyframe`), as a decoder fed a broken frame shows corruption until one.
 */
import { startsKeyframe } from '../../sfu/rtp/keyframe.js';
import { marker, payloadOffset, payloadEnd, sequenceNumber, timestamp } from '../../sfu/rtp/rtp.js';
import { payloadPart, type PacketizedVideoCodec } from '../../recording/tracks/depacketize.js';

export interface LiveFrame {
  /** The RTP timestamp (90 kHz), not unwrapped. */
  timestamp: number;
  data: Buffer;
  keyframe: boolean;
}

interface Held {
  timestamp: number;
  /** A padding-only packet (the publisher probing): a sequence number, nothing to decode. */
  padding: boolean;
  marker: boolean;
  begins: boolean;
  keyframe: boolean;
  data: Buffer[];
}

/** A hole this old is taken for lost: two NACK round trips on a LAN, one on a slow link. */
const DEFAULT_MAX_WAIT_MS = 150;
/** Packets held at most (a frame of 1080p is ~100): past this the stream is resynchronized. */
const MAX_HELD = 600;

export class LiveFrameAssembler {
  /** Held packets by unwrapped sequence number. */
  private readonly held = new Map<number, Held>();
  /** Unwrapped sequence number of the packet that starts the next frame; undefined while waiting for a keyframe. */
  private next: number | undefined;
  private highest: number | undefined;
  /** When the frame at `next` first became the one waited for with a hole (ms). */
  private stuckSince: number | undefined;
  /** RTP timestamp of the last frame that went out. */
  private lastTimestamp: number | undefined;
  /** Frames dropped because a packet never came (each sets `needKeyframe`). */
  broken = 0;
  private readonly maxWaitMs: number;

  constructor(
    readonly codec: PacketizedVideoCodec,
    options: { maxWaitMs?: number } = {},
  ) {
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  /** One RTP packet; answers the frames it completed (in order) and whether a keyframe is now needed. */
  push(packet: Buffer, nowMs: number): { frames: LiveFrame[]; needKeyframe: boolean } {
    const sequence = this.unwrap(sequenceNumber(packet));
    const start = payloadOffset(packet);
    const end = payloadEnd(packet);
    const stale = this.next !== undefined && sequence < this.next;
    if (!stale && start >= end && !this.held.has(sequence)) {
      this.held.set(sequence, { timestamp: timestamp(packet), padding: true, marker: false, begins: false, keyframe: false, data: [] });
    } else if (!stale && !this.held.has(sequence)) {
      try {
        const payload = packet.subarray(start, end);
        const part = payloadPart(this.codec, payload);
        this.held.set(sequence, {
          timestamp: timestamp(packet),
          padding: false,
          marker: marker(packet),
          begins: part.begins,
          keyframe: part.begins && startsKeyframe(this.codec, payload),
          data: part.data.map((chunk) => Buffer.from(chunk)),
        });
      } catch {
        // An unreadable payload is a packet lost.
      }
    }
    return this.drain(nowMs);
  }

  /** Checks for a hole that waited too long without a packet arriving (call on a timer). */
  poll(nowMs: number): { frames: LiveFrame[]; needKeyframe: boolean } {
    return this.drain(nowMs);
  }

  get waitingForKeyframe(): boolean {
    return this.next === undefined;
  }

  private unwrap(sequence: number): number {
    if (this.highest === undefined) return (this.highest = sequence + 0x10000);
    const delta = ((sequence - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    const unwrapped = this.highest + delta;
    if (unwrapped > this.highest) this.highest = unwrapped;
    return unwrapped;
  }

  private drain(nowMs: number): { frames: LiveFrame[]; needKeyframe: boolean } {
    const frames: LiveFrame[] = [];
    let needKeyframe = false;
    if (this.held.size > MAX_HELD) {
      this.held.clear();
      this.next = undefined;
      this.broken += 1;
      return { frames, needKeyframe: true };
    }
    for (;;) {
      if (this.next === undefined && !this.findKeyframe()) break;
      this.skipPadding();
      const frame = this.frameAt(this.next!);
      if (frame) {
        frames.push(frame.frame);
        this.lastTimestamp = frame.frame.timestamp;
        for (let s = this.next!; s <= frame.last; s++) this.held.delete(s);
        this.next = frame.last + 1;
        this.stuckSince = undefined;
        continue;
      }
      // No hole (every packet from `next` to the newest held is here): the frame is still arriving,
      // however slowly a keyframe comes over a slow link.
      let newest = -Infinity;
      for (const s of this.held.keys()) if (s > newest) newest = s;
      let contiguous = this.next!;
      while (this.held.has(contiguous)) contiguous++;
      if (newest < contiguous) {
        this.stuckSince = undefined;
        break;
      }
      this.stuckSince ??= nowMs;
      if (nowMs - this.stuckSince < this.maxWaitMs) break;
      // The hole was not repaired in time: start again at a keyframe after it.
      this.broken += 1;
      needKeyframe = true;
      for (const s of [...this.held.keys()]) if (s < this.next!) this.held.delete(s);
      this.next = undefined;
      this.stuckSince = undefined;
      if (!this.findKeyframe()) break;
    }
    // Nothing older than the next frame is needed any more.
    if (this.next !== undefined) for (const s of [...this.held.keys()]) if (s < this.next) this.held.delete(s);
    return { frames, needKeyframe };
  }

  /**
   * Moves `next` past padding: held padding at `next`, and a hole right before padding stamped
   * with the last frame's timestamp (libwebrtc pads after a whole frame with its timestamp, and
   * does not resend padding: such a hole is padding lost, not media).
   */
  private skipPadding(): void {
    for (;;) {
      const held = this.held.get(this.next!);
      if (held?.padding) {
        this.held.delete(this.next!);
        this.next! += 1;
        continue;
      }
      if (held || this.lastTimestamp === undefined) return;
      let after: number | undefined;
      for (const s of this.held.keys()) if (s > this.next! && (after === undefined || s < after)) after = s;
      const following = after === undefined ? undefined : this.held.get(after);
      if (!following?.padding || following.timestamp !== this.lastTimestamp) return;
      this.next = after;
    }
  }

  /** Sets `next` to the earliest held packet that begins a keyframe; drops what is before it. */
  private findKeyframe(): boolean {
    let best: number | undefined;
    for (const [s, held] of this.held) if (held.keyframe && (best === undefined || s < best)) best = s;
    if (best === undefined) return false;
    for (const s of [...this.held.keys()]) if (s < best) this.held.delete(s);
    this.next = best;
    return true;
  }

  /** The whole frame beginning at `first`, if every packet up to its marker is here. */
  private frameAt(first: number): { frame: LiveFrame; last: number } | undefined {
    const head = this.held.get(first);
    if (!head || !head.begins) return undefined;
    const data: Buffer[] = [];
    for (let s = first; ; s++) {
      const held = this.held.get(s);
      if (!held || held.timestamp !== head.timestamp) return undefined;
      data.push(...held.data);
      if (held.marker) return { frame: { timestamp: head.timestamp, data: Buffer.concat(data), keyframe: head.keyframe }, last: s };
    }
  }
}
