/**
 * The grid's tile for someone in the picture without a camera (a voice only): the
 * initials of their display name on a disc of their colour, the name under it, as the web app's
 * "camera off" tile draws them (`@parley/protocol`'s `avatar.ts`: hue from the identity,
 * initials from the name). The text comes from ffmpeg's drawtext (libfreetype, the system's
 * sans font through fontconfig) as a grey mask, once per person and tile size; the disc and the
 * blend are pure (`paintPlaceholder`). Why ffmpeg: it is already there for the codecs, and
 * freetype draws any script the font has, which a bitmap font in this file would not.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AVATAR_LIGHTNESS, AVATAR_SATURATION, hueFor, initialsOf } from '@parley/protocol';
import { blankI420, type I420, type Yuv } from './i420.js';

/** The tile around the disc (the web app's tile background is as dark). */
export const PLACEHOLDER_BACKGROUND: Yuv = { y: 48, u: 128, v: 128 };
const WHITE_Y = 235;
/** Pictures kept (people x tile sizes): a layout change brings new sizes, and a room of 16 has a few each. */
const CACHE_SIZE = 128;
const RENDER_TIMEOUT_MS = 10_000;
const TEXT_NICENESS = 10;

/** Where the disc and the two lines go in a `width`x`height` tile (even, in pixels). */
export function placeholderGeometry(width: number, height: number): { cx: number; cy: number; radius: number; initialsSize: number; nameSize: number; nameY: number | undefined } {
  const radius = Math.max(4, Math.round(Math.min(width, height) * 0.22));
  const cx = Math.round(width / 2);
  const cy = Math.round(height * 0.42);
  const initialsSize = Math.max(8, Math.round(radius * 0.9));
  const nameSize = Math.max(9, Math.round(height * 0.085));
  const nameY = cy + radius + Math.round(nameSize * 0.9);
  return { cx, cy, radius, initialsSize, nameSize, nameY: nameY + nameSize / 2 <= height ? nameY : undefined };
}

/** The name as it fits on one line of the tile (cut with an ellipsis). */
export function fittedName(name: string, width: number, nameSize: number): string {
  const chars = Array.from(name.trim());
  // DejaVu Sans averages ~0.6 em per character.
  const max = Math.max(1, Math.floor((width * 0.9) / (nameSize * 0.6)));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** The avatar's colour for `identity` as RGB, 0-255 (what a browser shows of it). */
export function avatarRgb(identity: string): [number, number, number] {
  return hslToRgb(hueFor(identity), AVATAR_SATURATION / 100, AVATAR_LIGHTNESS / 100).map((channel) => Math.round(channel * 255)) as [number, number, number];
}

/** The avatar's colour for `identity` in BT.601 limited-range YUV (what the grid's encoder takes). */
export function avatarColour(identity: string): Yuv {
  const [r, g, b] = hslToRgb(hueFor(identity), AVATAR_SATURATION / 100, AVATAR_LIGHTNESS / 100);
  return {
    y: Math.round(16 + 65.481 * r + 128.553 * g + 24.966 * b),
    u: Math.round(128 - 37.797 * r - 74.203 * g + 112 * b),
    v: Math.round(128 + 112 * r - 93.786 * g - 18.214 * b),
  };
}

/** The disc of `colour` on the background, and white text where `mask` (one byte per pixel, 0-255) says. */
export function paintPlaceholder(width: number, height: number, colour: Yuv, mask?: Uint8Array): I420 {
  const picture = blankI420(width, height, PLACEHOLDER_BACKGROUND);
  const { cx, cy, radius } = placeholderGeometry(width, height);
  const { data } = picture;
  const cw = width >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * (height >> 1);
  const r2 = radius * radius;
  for (let y = Math.max(0, cy - radius); y < Math.min(height, cy + radius); y++) {
    for (let x = Math.max(0, cx - radius); x < Math.min(width, cx + radius); x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy > r2) continue;
      data[y * width + x] = colour.y;
      if ((x & 1) === 0 && (y & 1) === 0) {
        data[uBase + (y >> 1) * cw + (x >> 1)] = colour.u;
        data[vBase + (y >> 1) * cw + (x >> 1)] = colour.v;
      }
    }
  }
  if (!mask) return picture;
  for (let i = 0; i < width * height; i++) {
    const alpha = mask[i]!;
    if (alpha !== 0) data[i] = Math.round(data[i]! + ((WHITE_Y - data[i]!) * alpha) / 255);
  }
  // White has no colour: chroma goes toward neutral by the 2x2 block's mean coverage.
  for (let y = 0; y < height >> 1; y++) {
    for (let x = 0; x < cw; x++) {
      const at = 2 * y * width + 2 * x;
      const alpha = (mask[at]! + mask[at + 1]! + mask[at + width]! + mask[at + width + 1]!) / 4;
      if (alpha === 0) continue;
      for (const base of [uBase, vBase]) data[base + y * cw + x] = Math.round(data[base + y * cw + x]! + ((128 - data[base + y * cw + x]!) * alpha) / 255);
    }
  }
  return picture;
}

/**
 * The text of a placeholder as a `width`x`height` grey mask (white text on black): the initials
 * centred on the disc, the name under it when the tile has room. Through files, not the filter's
 * `text=`: a name may hold any character drawtext's own syntax gives a meaning to.
 */
export async function renderTextMask(ffmpegPath: string, name: string, width: number, height: number): Promise<Buffer> {
  const geometry = placeholderGeometry(width, height);
  const dir = await mkdtemp(join(tmpdir(), 'parley-placeholder-'));
  try {
    const initials = join(dir, 'initials.txt');
    const line = join(dir, 'name.txt');
    await writeFile(initials, initialsOf(name) || '?');
    await writeFile(line, fittedName(name, width, geometry.nameSize));
    const draw = (file: string, size: number, centreY: number) => `drawtext=font=Sans:textfile=${file}:expansion=none:fontcolor=white:fontsize=${size}:x=(w-text_w)/2:y=${centreY}-text_h/2`;
    const filters = [draw(initials, geometry.initialsSize, geometry.cy), ...(geometry.nameY === undefined ? [] : [draw(line, geometry.nameSize, geometry.nameY)])];
    const mask = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        ffmpegPath,
        ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=black:s=${width}x${height}:d=1`, '-vf', filters.join(','), '-frames:v', '1', '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'],
        { encoding: 'buffer', timeout: RENDER_TIMEOUT_MS, maxBuffer: width * height + 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`drawing a placeholder's text failed: ${stderr.toString().trim() || error.message}`, { cause: error })) : resolve(stdout)),
      );
      // Below the codecs (nice 5): a name can wait a moment, a grid's frames cannot.
      if (child.pid !== undefined) {
        try {
          setPriority(child.pid, TEXT_NICENESS);
        } catch {
          // not permitted here: it runs at the mixer's priority
        }
      }
    });
    if (mask.length !== width * height) throw new Error(`drawing a placeholder's text gave ${mask.length} bytes for ${width}x${height}`);
    return mask;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Placeholders by person and size. `get` answers at once: the disc alone the first time (pure,
 * well under a millisecond), so the tile is in the layout on the next frame; the text is drawn in
 * the background and the finished tile replaces it (`textReady` says when). When the text cannot
 * be drawn (an ffmpeg built without freetype) the disc stays alone, and the first failure is
 * logged.
 */
export class PlaceholderPainter {
  private readonly cache = new Map<string, { picture: I420; textReady: boolean }>();
  /** A failure was logged. */
  private textFailed = false;

  constructor(private readonly options: { ffmpegPath: string; onError: (message: string) => void }) {}

  get(identity: string, name: string, width: number, height: number): { picture: I420; textReady: boolean } {
    const key = JSON.stringify([identity, name, width, height]);
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    const colour = avatarColour(identity);
    const entry = { picture: paintPlaceholder(width, height, colour), textReady: false };
    this.cache.set(key, entry);
    void renderTextMask(this.options.ffmpegPath, name, width, height).then(
      (mask) => {
        entry.picture = paintPlaceholder(width, height, colour, mask);
        entry.textReady = true;
      },
      (error: unknown) => {
        // Each placeholder tries (a failure may pass: a spawn refused under load); the log says it once.
        if (!this.textFailed) this.options.onError(`a placeholder is drawn without its name: ${error instanceof Error ? error.message : String(error)}`);
        this.textFailed = true;
      },
    );
    return entry;
  }
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const h = hue / 60;
  const x = chroma * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] = h < 1 ? [chroma, x, 0] : h < 2 ? [x, chroma, 0] : h < 3 ? [0, chroma, x] : h < 4 ? [0, x, chroma] : h < 5 ? [x, 0, chroma] : [chroma, 0, x];
  const m = lightness - chroma / 2;
  return [r + m, g + m, b + m];
}
