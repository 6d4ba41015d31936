/**
 * AV1 RTP payloads (the AOM "RTP Payload Format for AV1", v1.0) back to a temporal unit in the
 * low-overhead bitstream format (AV1 spec 5.2) that IVF and Matroska carry: every OBU with its
 * size field, led by a temporal delimiter. Pure.
 *
 * A payload is an aggregation header (Z: the first element continues an OBU from the previous
 * packet; Y: the last one continues in the next; W: element count, 0 meaning each element has a
 * LEB128 length; N: a new coded video sequence starts) and OBU elements, which the sender strips
 * of their size fields and of temporal delimiters.
 */
import { DepacketizeError } from './depacketize.js';

const OBU_TEMPORAL_DELIMITER = 2;
const OBU_TILE_LIST = 8;
const TEMPORAL_DELIMITER = Buffer.from([0x12, 0x00]);

function readLeb128(data: Buffer, offset: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = data[offset + i];
    if (byte === undefined) throw new DepacketizeError('AV1 payload ends inside a LEB128 length', 'TRUNCATED');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: offset + i + 1 };
  }
  throw new DepacketizeError('AV1 LEB128 length longer than 8 bytes', 'TRUNCATED');
}

export function leb128(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** Whether the payload's first element starts an OBU (Z=0): the packet can begin a frame. */
export const av1Begins = (payload: Buffer): boolean => payload.length > 0 && (payload[0]! & 0x80) === 0;

/** One OBU (as the sender left it: usually without a size field) with its size field. */
function sizedObu(obu: Buffer): Buffer | undefined {
  if (obu.length === 0) return undefined;
  const header = obu[0]!;
  const type = (header >> 3) & 0x0f;
  if (type === OBU_TEMPORAL_DELIMITER || type === OBU_TILE_LIST) return undefined;
  if (header & 0x02) return obu;
  const headerBytes = header & 0x04 ? 2 : 1;
  if (obu.length < headerBytes) throw new DepacketizeError('AV1 OBU shorter than its header', 'TRUNCATED');
  return Buffer.concat([Buffer.from([header | 0x02]), obu.subarray(1, headerBytes), leb128(obu.length - headerBytes), obu.subarray(headerBytes)]);
}

/** A whole frame's payloads (in order, none missing) as one temporal unit. */
export function av1TemporalUnit(payloads: readonly Buffer[]): Buffer {
  const out: Buffer[] = [TEMPORAL_DELIMITER];
  let fragment: Buffer[] = [];
  for (const payload of payloads) {
    if (payload.length < 1) throw new DepacketizeError('empty AV1 payload', 'TRUNCATED');
    const aggregation = payload[0]!;
    const continues = (aggregation & 0x80) !== 0;
    const continuesNext = (aggregation & 0x40) !== 0;
    const count = (aggregation >> 4) & 0x03;
    const elements: Buffer[] = [];
    let offset = 1;
    while (offset < payload.length) {
      const last = count !== 0 && elements.length === count - 1;
      if (last) {
        elements.push(payload.subarray(offset));
        break;
      }
      const { value, next } = readLeb128(payload, offset);
      if (next + value > payload.length) throw new DepacketizeError('AV1 OBU element longer than its packet', 'TRUNCATED');
      elements.push(payload.subarray(next, next + value));
      offset = next + value;
    }
    elements.forEach((element, index) => {
      if (index === 0 && continues) fragment.push(element);
      else {
        const done = sizedObu(Buffer.concat(fragment));
        if (done) out.push(done);
        fragment = [element];
      }
      if (index === elements.length - 1 && !continuesNext) {
        const done = sizedObu(Buffer.concat(fragment));
        if (done) out.push(done);
        fragment = [];
      }
    });
  }
  const done = sizedObu(Buffer.concat(fragment));
  if (done) out.push(done);
  return Buffer.concat(out);
}
