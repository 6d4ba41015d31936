/**
 * Pictures in I420 (planar YUV 4:2:0, what ffmpeg's decoders give and libvpx takes) and the two
 * operations an MCU grid needs (pure): fill a rectangle with a colour, and draw a picture scaled
 * to fit a rectangle (aspect kept, centred, the rest of the rectangle filled). Nearest-neighbour
 * scaling, with the source column of each destination column computed once per draw: the
 * decoders already scaled each publisher to the grid's size, so a tile takes every 2nd or 4th
 * pixel and smoothing buys little. A 640x360 grid costs ~1 ms to draw here.
 */
export interface I420 {
  width: number;
  height: number;
  /** Y plane, then U, then V (each chroma plane width/2 x height/2). */
  data: Buffer;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Yuv {
  y: number;
  u: number;
  v: number;
}

export const BLACK: Yuv = { y: 16, u: 128, v: 128 };

export const i420Size = (width: number, height: number): number => width * height + 2 * (width >> 1) * (height >> 1);

export function blankI420(width: number, height: number, colour: Yuv = BLACK): I420 {
  const picture = { width, height, data: Buffer.allocUnsafe(i420Size(width, height)) };
  fillRect(picture, { x: 0, y: 0, width, height }, colour);
  return picture;
}

/** Fills `rect` (even x, y, width and height) with `colour`. */
export function fillRect(target: I420, rect: Rect, colour: Yuv): void {
  const { width, height, data } = target;
  const x0 = clamp(rect.x, 0, width);
  const x1 = clamp(rect.x + rect.width, 0, width);
  const y0 = clamp(rect.y, 0, height);
  const y1 = clamp(rect.y + rect.height, 0, height);
  for (let y = y0; y < y1; y++) data.fill(colour.y, y * width + x0, y * width + x1);
  const cw = width >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * (height >> 1);
  for (let y = y0 >> 1; y < y1 >> 1; y++) {
    data.fill(colour.u, uBase + y * cw + (x0 >> 1), uBase + y * cw + (x1 >> 1));
    data.fill(colour.v, vBase + y * cw + (x0 >> 1), vBase + y * cw + (x1 >> 1));
  }
}

/** The largest rectangle of `source`'s aspect inside `rect`, centred, with even edges. */
export function fitRect(sourceWidth: number, sourceHeight: number, rect: Rect): Rect {
  const scale = Math.min(rect.width / sourceWidth, rect.height / sourceHeight);
  const width = even(sourceWidth * scale);
  const height = even(sourceHeight * scale);
  return { x: rect.x + even((rect.width - width) / 2), y: rect.y + even((rect.height - height) / 2), width, height };
}

/** Draws `source` into `rect` of `target`: scaled to fit, the bars around it filled with `background`. */
export function drawFitted(target: I420, source: I420, rect: Rect, background: Yuv = BLACK): void {
  const inner = fitRect(source.width, source.height, rect);
  if (inner.width < rect.width || inner.height < rect.height) fillRect(target, rect, background);
  if (inner.width <= 0 || inner.height <= 0) return;
  scalePlane(source.data, 0, source.width, source.height, target.data, 0, target.width, target.height, inner);
  const sourceChroma = source.width * source.height;
  const targetChroma = target.width * target.height;
  const sw = source.width >> 1;
  const sh = source.height >> 1;
  const tw = target.width >> 1;
  const th = target.height >> 1;
  const half = { x: inner.x >> 1, y: inner.y >> 1, width: inner.width >> 1, height: inner.height >> 1 };
  scalePlane(source.data, sourceChroma, sw, sh, target.data, targetChroma, tw, th, half);
  scalePlane(source.data, sourceChroma + sw * sh, sw, sh, target.data, targetChroma + tw * th, tw, th, half);
}

function scalePlane(src: Buffer, srcBase: number, sw: number, sh: number, dst: Buffer, dstBase: number, dw: number, dh: number, rect: Rect): void {
  const x0 = clamp(rect.x, 0, dw);
  const x1 = clamp(rect.x + rect.width, 0, dw);
  const columns = new Int32Array(x1 - x0);
  for (let x = x0; x < x1; x++) columns[x - x0] = Math.min(sw - 1, Math.floor(((x - rect.x + 0.5) * sw) / rect.width));
  const y0 = clamp(rect.y, 0, dh);
  const y1 = clamp(rect.y + rect.height, 0, dh);
  for (let y = y0; y < y1; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y - rect.y + 0.5) * sh) / rect.height));
    const srcRow = srcBase + sy * sw;
    const dstRow = dstBase + y * dw;
    for (let i = 0; i < columns.length; i++) dst[dstRow + x0 + i] = src[srcRow + columns[i]!]!;
  }
}

const even = (value: number) => Math.floor(value / 2) * 2;
const clamp = (value: number, low: number, high: number) => Math.max(low, Math.min(high, value));
