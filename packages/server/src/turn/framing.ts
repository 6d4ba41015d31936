/**
 * Splitting a TCP/TLS byte stream into STUN messages and ChannelData messages (RFC 8656
 * section 12.5: over streams ChannelData is padded to a multiple of four bytes).
 */
import { HEADER_BYTES, MAGIC_COOKIE } from './stun-message.js';

export const CHANNEL_DATA_HEADER_BYTES = 4;

/** True for a ChannelData message's first byte (channel numbers 0x4000-0x7FFF). */
export function isChannelData(firstByte: number): boolean {
  return (firstByte & 0xc0) === 0x40;
}

export class StreamFramer {
  private pending: Buffer | undefined;

  /**
   * Feeds received bytes; calls `frame` for each complete message (a view of the stream, valid
   * during the call). Returns false when the stream is not STUN/ChannelData: the caller closes it.
   */
  push(chunk: Buffer, frame: (message: Buffer, channelData: boolean) => void): boolean {
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    while (data.length >= CHANNEL_DATA_HEADER_BYTES) {
      const channelData = isChannelData(data[0]!);
      if (!channelData && (data[0]! & 0xc0) !== 0) return false;
      if (!channelData && data.length >= 8 && data.readUInt32BE(4) !== MAGIC_COOKIE) return false;
      const length = data.readUInt16BE(2);
      const size = channelData ? CHANNEL_DATA_HEADER_BYTES + ((length + 3) & ~3) : HEADER_BYTES + length;
      if (data.length < size) break;
      frame(channelData ? data.subarray(0, CHANNEL_DATA_HEADER_BYTES + length) : data.subarray(0, size), channelData);
      data = data.subarray(size);
    }
    if (data.length > 0) this.pending = Buffer.from(data);
    return true;
  }
}
