/**
 * Padding-only RTP packets toward a subscriber (bandwidth probes, frame ends), and the numbering they
 * shift: each one takes a sequence number of the subscriber's stream, so the media after it moves
 * up by one, while a late packet from before it keeps the number it would have had.
 */
import { SubscriberExtensionId } from './header-extensions.js';
import { sequenceDelta } from './rtp.js';

/** RTP padding is at most 255 bytes (its length is one byte); libwebrtc sends 224-255. */
const PADDING_BYTES = 255;
/** Header (12) + extension block header (4) + the one-byte element's header (1). */
export const PADDING_TRANSPORT_OFFSET = 17;

/** A padding-only packet: the header, one extension word for the transport-wide sequence, padding (1-255 bytes). */
export function paddingPacket(ssrc: number, payloadType: number, sequence: number, rtpTimestamp: number, paddingBytes = PADDING_BYTES): Buffer {
  const packet = Buffer.alloc(12 + 8 + paddingBytes);
  packet[0] = 0x80 | 0x20 | 0x10; // V=2, padding, extension
  packet[1] = payloadType;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  packet.writeUInt16BE(0xbede, 12);
  packet.writeUInt16BE(1, 14);
  packet[16] = (SubscriberExtensionId.transportSequence << 4) | 1;
  packet[packet.length - 1] = paddingBytes;
  return packet;
}

const MAX_STEPS = 64;

/**
 * Publisher sequence -> subscriber sequence offset for one forwarded layer. `shiftAfter` records
 * a padding packet inserted after publisher sequence `after`; `offsetFor` gives a packet the
 * offset of its place, so a publisher's resend of an older packet fills the hole it left.
 */
export class SequenceOffsets {
  private current = 0;
  /** The offset before each insertion, oldest first. */
  private readonly steps: { after: number; previous: number }[] = [];

  reset(offset: number): void {
    this.current = offset & 0xffff;
    this.steps.length = 0;
  }

  shiftAfter(after: number): void {
    this.steps.push({ after, previous: this.current });
    if (this.steps.length > MAX_STEPS) this.steps.shift();
    this.current = (this.current + 1) & 0xffff;
  }

  offsetFor(sequence: number): number {
    let offset = this.current;
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i]!;
      if (sequenceDelta(step.after, sequence) > 0) break;
      offset = step.previous;
    }
    return offset;
  }
}
