/**
 * The pure part of `bench:mcu`'s synthetic participants (`synthetic-main.ts`): the picture each
 * one's camera encodes, made as the pages' canvas is (`page.ts`): the participant's colour under a
 * grey 128x128 noise tile at a quarter's opacity, the tile moving 4 px right and 2 px down per
 * frame. The tile is grey, so only luma varies; the picture repeats every 32 frames, made once
 * and looped. Unit-tested in bench/test/mcu.test.ts.
 */
import { i420Size, type Yuv } from '../../packages/server/src/mcu/video/i420.ts';

export type Rgb = readonly [number, number, number];

export const NOISE_TILE = 128;
const SHIFT_PER_FRAME = 4;
/** Frames before the picture repeats. */
export const LOOP_FRAMES = NOISE_TILE / SHIFT_PER_FRAME;
const NOISE_OPACITY = 0.25;

/** BT.601, limited range: what ffmpeg's rawvideo `yuv420p` input means to libvpx and to the browser that decodes it. */
export function rgbToYuv([r, g, b]: Rgb): Yuv {
  const clamp = (value: number) => Math.max(0, Math.min(255, Math.round(value)));
  return {
    y: clamp(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255),
    u: clamp(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255),
    v: clamp(128 + (112 * r - 93.786 * g - 18.214 * b) / 255),
  };
}

/** A tile of grey noise, the same for the same seed (mulberry32). */
export function noiseTile(seed: number): Uint8Array {
  let state = seed >>> 0;
  const tile = new Uint8Array(NOISE_TILE * NOISE_TILE);
  for (let i = 0; i < tile.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    tile[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return tile;
}

/** Frame `frame` of the camera (I420, `width` x `height`, both even). */
export function cameraPicture(width: number, height: number, rgb: Rgb, tile: Uint8Array, frame: number): Buffer {
  const colour = rgbToYuv(rgb);
  const picture = Buffer.alloc(i420Size(width, height));
  const shiftX = (frame * SHIFT_PER_FRAME) % NOISE_TILE;
  const shiftY = shiftX >> 1;
  // Grey v in limited range is 16 + 219 v / 255, blended over the colour's luma.
  const base = (1 - NOISE_OPACITY) * colour.y + NOISE_OPACITY * 16;
  const scale = (NOISE_OPACITY * 219) / 255;
  for (let y = 0; y < height; y++) {
    const row = ((y + shiftY) % NOISE_TILE) * NOISE_TILE;
    for (let x = 0; x < width; x++) picture[y * width + x] = Math.round(base + scale * tile[row + ((x + shiftX) % NOISE_TILE)]!);
  }
  const chroma = (width >> 1) * (height >> 1);
  // Grey has no chroma: each chroma plane is the colour's, blended toward neutral.
  picture.fill(Math.round((1 - NOISE_OPACITY) * colour.u + NOISE_OPACITY * 128), width * height, width * height + chroma);
  picture.fill(Math.round((1 - NOISE_OPACITY) * colour.v + NOISE_OPACITY * 128), width * height + chroma);
  return picture;
}

/** The loop a camera plays: `LOOP_FRAMES` pictures. */
export function cameraLoop(width: number, height: number, rgb: Rgb, seed: number): Buffer[] {
  const tile = noiseTile(seed);
  return Array.from({ length: LOOP_FRAMES }, (_, frame) => cameraPicture(width, height, rgb, tile, frame));
}
