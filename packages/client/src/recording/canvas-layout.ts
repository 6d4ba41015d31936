/**
 * Where the recording compositor draws (pure, no DOM): the canvas size, a tile per video, a video
 * fitted into its tile, and the placeholder shown while a participant's own recording has no
 * camera.
 */

export interface Size {
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The `call` recording's canvas, and a `self` recording's when no camera says its size. */
export const DEFAULT_CANVAS_SIZE: Size = { width: 1280, height: 720 };
/** A `self` recording is never larger than this, whatever the camera delivers. */
export const MAX_SELF_CANVAS_SIZE: Size = { width: 1920, height: 1080 };

/**
 * The canvas of a `self` recording: the camera’s size when the recording starts (so the file has
 * the camera's own resolution, not a letterboxed one), scaled down to fit
 * MAX_SELF_CANVAS_SIZE, in even pixels (VP8/VP9 encode 4:2:0). Without a camera, or one that does
 * not say its size yet, DEFAULT_CANVAS_SIZE. A camera turned on later with another size is
 * fitted into this canvas: a WebM track keeps one frame size.
 */
export function selfCanvasSize(camera: { width?: number; height?: number } | undefined): Size {
  const width = camera?.width ?? 0;
  const height = camera?.height ?? 0;
  if (!(width > 0 && height > 0)) return { ...DEFAULT_CANVAS_SIZE };
  const scale = Math.min(1, MAX_SELF_CANVAS_SIZE.width / width, MAX_SELF_CANVAS_SIZE.height / height);
  const even = (value: number) => Math.max(2, 2 * Math.round((value * scale) / 2));
  return { width: even(width), height: even(height) };
}

/**
 * `count` tiles in a grid as square as it can be (columns first: 2 side by side, 3 and 4 in two
 * rows, ...), filling `canvas`, row by row.
 */
export function gridTiles(count: number, canvas: Size): Rect[] {
  const columns = Math.max(1, Math.ceil(Math.sqrt(count)));
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = canvas.width / columns;
  const height = canvas.height / rows;
  return Array.from({ length: count }, (_, index) => ({ x: (index % columns) * width, y: Math.floor(index / columns) * height, width, height }));
}

/** A `source`-sized picture scaled to fit inside `tile`, keeping its aspect ratio, centred. */
export function fitInto(source: Size, tile: Rect): Rect {
  const scale = Math.min(tile.width / source.width, tile.height / source.height);
  const width = source.width * scale;
  const height = source.height * scale;
  return { x: tile.x + (tile.width - width) / 2, y: tile.y + (tile.height - height) / 2, width, height };
}

export interface PlaceholderText {
  /** The participant's name, large. */
  title: string;
  /** Why there is no picture. */
  subtitle: string;
  /** Font sizes in pixels, from the canvas height. */
  titlePx: number;
  subtitlePx: number;
}

/** Longest name drawn whole; a longer one ends with an ellipsis. */
export const PLACEHOLDER_NAME_CHARS = 32;

/**
 * What a `self` recording shows while the camera is off: the participant's name (its identity
 * when it has no name) and "Camera off".
 */
export function placeholderText(name: string, canvas: Size): PlaceholderText {
  const trimmed = name.trim();
  const chars = [...trimmed];
  const title = chars.length > PLACEHOLDER_NAME_CHARS ? `${chars.slice(0, PLACEHOLDER_NAME_CHARS - 1).join('')}…` : trimmed;
  return { title, subtitle: 'Camera off', titlePx: Math.max(12, Math.round(canvas.height / 9)), subtitlePx: Math.max(10, Math.round(canvas.height / 18)) };
}
