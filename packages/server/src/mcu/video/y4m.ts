/**
 * YUV4MPEG2 (pure): what the mixer's decoders write (`-f yuv4mpegpipe`), split into I420 pictures
 * as chunks arrive. Why Y4M and not `-f rawvideo` (the same planes, no framing): Debian's ffmpeg
 * 5.1 writes a rawvideo picture only when the next frame comes in, so every picture was one
 * input frame late (67 ms at 15 fps) and a camera's first picture waited for its second frame;
 * with Y4M each picture comes out as its frame is decoded (measured: the first picture 7-13 ms
 * after the keyframe was written to a decoder already started, 156-169 ms when the process was
 * started with the keyframe; with rawvideo, nothing until the second frame). Layout: one header
 * line (`YUV4MPEG2 W<w> H<h> F.. C420..` etc., space-separated, `\n`), then per picture a line
 * `FRAME` (optionally with parameters) and the planes.
 */
export class Y4mError extends Error {
  override name = 'Y4mError';
  constructor(
    message: string,
    readonly code: 'BAD_HEADER' | 'BAD_FRAME' | 'UNSUPPORTED',
  ) {
    super(message);
  }
}

const EIGHT_BIT_420 = new Set(['420', '420jpeg', '420mpeg2', '420paldv']);
/** A header or FRAME line longer than this is not Y4M. */
const MAX_LINE = 1024;

export class Y4mReader {
  width = 0;
  height = 0;
  private pictureBytes = 0;
  private pending: Buffer = Buffer.alloc(0);
  private headerSeen = false;

  /** The pictures (I420 planes, `width` x `height`) completed by `chunk`, in order. */
  push(chunk: Buffer): Buffer[] {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const pictures: Buffer[] = [];
    let offset = 0;
    if (!this.headerSeen) {
      const end = this.lineEnd(data, 0);
      if (end < 0) {
        this.pending = Buffer.from(data);
        return pictures;
      }
      this.readHeader(data.toString('latin1', 0, end));
      offset = end + 1;
    }
    for (;;) {
      const end = this.lineEnd(data, offset);
      if (end < 0) break;
      const line = data.toString('latin1', offset, end);
      if (line !== 'FRAME' && !line.startsWith('FRAME ')) throw new Y4mError(`expected a FRAME line, got ${JSON.stringify(line.slice(0, 40))}`, 'BAD_FRAME');
      if (end + 1 + this.pictureBytes > data.length) break;
      pictures.push(Buffer.from(data.subarray(end + 1, end + 1 + this.pictureBytes)));
      offset = end + 1 + this.pictureBytes;
    }
    data = data.subarray(offset);
    this.pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return pictures;
  }

  /** The index of the `\n` ending the line at `start`, or -1 while it is incomplete. */
  private lineEnd(data: Buffer, start: number): number {
    const end = data.indexOf(0x0a, start);
    if (end < 0 && data.length - start > MAX_LINE) throw new Y4mError('a line longer than 1 KB', this.headerSeen ? 'BAD_FRAME' : 'BAD_HEADER');
    return end;
  }

  private readHeader(line: string): void {
    const [magic, ...fields] = line.split(' ');
    if (magic !== 'YUV4MPEG2') throw new Y4mError('the stream does not begin with a YUV4MPEG2 header', 'BAD_HEADER');
    let colour = '420jpeg';
    for (const field of fields) {
      if (field.startsWith('W')) this.width = Number(field.slice(1));
      else if (field.startsWith('H')) this.height = Number(field.slice(1));
      else if (field.startsWith('C')) colour = field.slice(1);
    }
    if (!(this.width > 0 && this.height > 0 && Number.isInteger(this.width) && Number.isInteger(this.height))) throw new Y4mError(`no picture size in ${JSON.stringify(line)}`, 'BAD_HEADER');
    // 4:2:0 in 8 bits, whatever the chroma siting (420jpeg, 420mpeg2, 420paldv): the planes are I420.
    if (!EIGHT_BIT_420.has(colour)) throw new Y4mError(`colour space ${colour}, not 8-bit 4:2:0`, 'UNSUPPORTED');
    this.pictureBytes = this.width * this.height + 2 * Math.ceil(this.width / 2) * Math.ceil(this.height / 2);
    this.headerSeen = true;
  }
}
