/**
 * A VP8 frame into RTP packets (RFC 7741, pure): what the mixer sends for a grid it encoded. Each
 * payload starts with the descriptor X=1, I=1 and a 15-bit PictureID (S=1 on the frame's first
 * packet, partition 0): the subscriber's side of the SFU (`downstream.ts`) and the browser's
 * jitter buffer both number pictures by it. Payloads are at most `maxPayload` bytes (1200 with
 * the 12-byte header and SRTP's tag stays under every path's MTU, as libwebrtc's packets do).
 */
const DESCRIPTOR_BYTES = 4;
export const MAX_RTP_PAYLOAD = 1188;

export interface RtpPacketFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/** The frame's payloads, descriptor included, split as evenly as the limit allows (like libwebrtc). */
export function vp8Payloads(frame: Buffer, pictureId: number, maxPayload = MAX_RTP_PAYLOAD): Buffer[] {
  const room = maxPayload - DESCRIPTOR_BYTES;
  const count = Math.max(1, Math.ceil(frame.length / room));
  const size = Math.ceil(frame.length / count);
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * size, Math.min(frame.length, (i + 1) * size));
    const payload = Buffer.allocUnsafe(DESCRIPTOR_BYTES + part.length);
    payload[0] = 0x80 | (i === 0 ? 0x10 : 0); // X, S (partition index 0)
    payload[1] = 0x80; // I: a PictureID follows
    payload.writeUInt16BE(0x8000 | (pictureId & 0x7fff), 2); // M=1: 15 bits
    part.copy(payload, DESCRIPTOR_BYTES);
    payloads.push(payload);
  }
  return payloads;
}

/** An RTP packet: the fixed header (marker on the frame's last packet) and `payload`. */
export function rtpPacket(fields: RtpPacketFields, marker: boolean, payload: Buffer): Buffer {
  const packet = Buffer.allocUnsafe(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  packet.writeUInt16BE(fields.sequence & 0xffff, 2);
  packet.writeUInt32BE(fields.timestamp >>> 0, 4);
  packet.writeUInt32BE(fields.ssrc >>> 0, 8);
  payload.copy(packet, 12);
  return packet;
}

/**
 * One VP8 stream's packets, frame after frame: sequence numbers and PictureIDs run on from random
 * starts (a grid's stream in the mixer; a synthetic camera in `bench/mcu`).
 */
export class Vp8RtpStream {
  private sequence = Math.floor(Math.random() * 0x10000);
  private pictureId = Math.floor(Math.random() * 0x8000);

  constructor(
    readonly ssrc: number,
    private readonly payloadType: number,
  ) {}

  /** The frame's RTP packets at `timestamp` (90 kHz), the marker on the last. */
  packets(frame: Buffer, timestamp: number): Buffer[] {
    const payloads = vp8Payloads(frame, this.pictureId);
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    return payloads.map((payload, i) => rtpPacket({ payloadType: this.payloadType, sequence: this.sequence++ & 0xffff, timestamp, ssrc: this.ssrc }, i === payloads.length - 1, payload));
  }
}
