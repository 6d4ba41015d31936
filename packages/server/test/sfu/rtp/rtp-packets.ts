// RTP packets laid out by hand for the tests of src/sfu/rtp/.
export interface RtpFields {
  payloadType?: number;
  marker?: boolean;
  sequence?: number;
  timestamp?: number;
  ssrc?: number;
  csrcs?: number[];
  /** Header extension: profile (0xBEDE one-byte, 0x100X two-byte) and its body, padded to 32 bits here. */
  extension?: { profile: number; body: number[] };
  payload?: number[];
  /** RTP padding bytes after the payload (the last one holds the count). */
  padding?: number;
}

/** An RTP packet laid out by hand per RFC 3550 section 5.1 (and RFC 8285 for extensions). */
export function rtp(fields: RtpFields = {}): Buffer {
  const csrcs = fields.csrcs ?? [];
  const body = fields.extension ? [...fields.extension.body] : [];
  while (body.length % 4 !== 0) body.push(0);
  const bytes: number[] = [
    0x80 | (fields.padding ? 0x20 : 0) | (fields.extension ? 0x10 : 0) | csrcs.length,
    (fields.marker ? 0x80 : 0) | (fields.payloadType ?? 96),
    ...u16(fields.sequence ?? 1000),
    ...u32(fields.timestamp ?? 90_000),
    ...u32(fields.ssrc ?? 0x11223344),
    ...csrcs.flatMap(u32),
  ];
  if (fields.extension) bytes.push(...u16(fields.extension.profile), ...u16(body.length / 4), ...body);
  bytes.push(...(fields.payload ?? [0xaa, 0xbb, 0xcc]));
  if (fields.padding) bytes.push(...new Array<number>(fields.padding - 1).fill(0), fields.padding);
  return Buffer.from(bytes);
}

export const u16 = (value: number) => [(value >> 8) & 0xff, value & 0xff];
export const u32 = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
export const ascii = (text: string) => [...Buffer.from(text, 'latin1')];
