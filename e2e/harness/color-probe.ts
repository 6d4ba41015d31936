/**
 * Solid colours in and out of a page joined with `SdkParticipant`, for the MCU's video grid:
 * `publishColor` publishes a canvas of one colour as the camera (repainted at 15 fps, so the
 * encoder gets frames); `gridColours` draws the newest frame of the page's `server:mix-video` at
 * its own size and counts, over an even lattice of points, which of a palette's colours each
 * point shows (nearest within a distance: VP8 keeps a flat colour within a few units);
 * `watchGrid` counts the same for every frame the page presents of it, read back with
 * `gridFrames` (for timing when a picture changed: the first frame presented showing it).
 */
import type { SdkParticipant } from './participant.ts';

export type Rgb = readonly [number, number, number];

/**
 * Publishes a camera of one colour; answers when `publishTrack` was called, on the page's clock
 * (epoch ms). `unpublishColor` stops it.
 */
export async function publishColor(participant: SdkParticipant, rgb: Rgb): Promise<number> {
  return participant.page.evaluate(async (rgb) => {
    const canvas = document.createElement('canvas');
    // 320x180: what a phone's camera layer of a call looks like, and a quarter of the encoding a
    // 640x360 canvas costs the test machine's shared cores (4 browsers and the grids on 2 cores).
    canvas.width = 320;
    canvas.height = 180;
    const context = canvas.getContext('2d')!;
    const paint = () => {
      context.fillStyle = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
      context.fillRect(0, 0, canvas.width, canvas.height);
    };
    paint();
    const scope = window as unknown as { __parley: { room: import('@parley/client').Room }; __colorPaint?: number };
    scope.__colorPaint = window.setInterval(paint, 66);
    const track = canvas.captureStream(15).getVideoTracks()[0]!;
    const at = performance.timeOrigin + performance.now();
    await scope.__parley.room.localParticipant.publishTrack('camera', track);
    return at;
  }, rgb as [number, number, number]);
}

/** Unpublishes the camera `publishColor` published, and stops painting it. */
export async function unpublishColor(participant: SdkParticipant): Promise<void> {
  await participant.page.evaluate(async () => {
    const scope = window as unknown as { __parley: { room: import('@parley/client').Room }; __colorPaint?: number };
    clearInterval(scope.__colorPaint);
    await scope.__parley.room.localParticipant.unpublishTrack('camera');
  }, undefined);
}

/** The lattice both readers count over: 48x27 points, even over the picture whatever its size. */
const LATTICE_COLUMNS = 48;
const LATTICE_ROWS = 27;
const LATTICE_POINTS = LATTICE_COLUMNS * LATTICE_ROWS;

interface LatticeScope {
  /** Per palette colour, the lattice points of an RGBA picture showing it (nearest within `maxDistance`). */
  __parleyLattice?: (data: Uint8ClampedArray, width: number, height: number, palette: ReadonlyArray<readonly [number, number, number]>, maxDistance: number) => number[];
  __parleyGridWatch?: { frames: GridReading[] };
}

/** Puts the lattice count in the page once (code run through `evaluate` cannot import), for both readers. */
async function installLattice(participant: SdkParticipant): Promise<void> {
  await participant.page.evaluate(
    ({ columns, rows }) => {
      const scope = window as unknown as LatticeScope;
      scope.__parleyLattice ??= (data, width, height, palette, maxDistance) => {
        const counts = palette.map(() => 0);
        for (let row = 0; row < rows; row++) {
          for (let column = 0; column < columns; column++) {
            const x = Math.floor(((column + 0.5) * width) / columns);
            const y = Math.floor(((row + 0.5) * height) / rows);
            const at = (y * width + x) * 4;
            let best = -1;
            let bestDistance = maxDistance;
            palette.forEach(([r, g, b], i) => {
              const distance = Math.hypot(data[at]! - r, data[at + 1]! - g, data[at + 2]! - b);
              if (distance < bestDistance) [best, bestDistance] = [i, distance];
            });
            if (best >= 0) counts[best]! += 1;
          }
        }
        return counts;
      };
    },
    { columns: LATTICE_COLUMNS, rows: LATTICE_ROWS },
  );
}

export interface GridReading {
  width: number;
  height: number;
  /** Lattice points showing each palette colour (by index). */
  counts: number[];
  points: number;
  /** When the page presented the frame read (epoch ms, the same clock as the test's `Date.now()`). */
  shownAt: number;
}

/** Reads one frame of the mix video; undefined while the page has none (or it has no frame yet). */
export async function gridColours(participant: SdkParticipant, palette: readonly Rgb[], maxDistance = 60): Promise<GridReading | undefined> {
  await installLattice(participant);
  return participant.page.evaluate(
    async ({ palette, maxDistance, points }) => {
      const track = (window as unknown as { __parley: { shown: Record<string, MediaStreamTrack> } }).__parley.shown['server:mix-video'];
      if (!track) return undefined;
      const video = document.createElement('video');
      video.muted = true;
      video.srcObject = new MediaStream([track]);
      // Not awaited alone: play() stays pending while the track has no frame (a grid never drawn).
      await Promise.race([video.play().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))]);
      const deadline = Date.now() + 3000;
      while (video.videoWidth === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (video.videoWidth === 0) return undefined;
      // A frame decoded after this element started, not just its first; drawn in its callback, so
      // the picture read is the one presented at `shownAt` (the read's own time is not counted).
      const canvas = document.createElement('canvas');
      const context = canvas.getContext('2d', { willReadFrequently: true })!;
      type FrameCallback = (now: number, metadata: { presentationTime: number }) => void;
      const shownAt = await Promise.race([
        new Promise<number>((resolve) =>
          (video as HTMLVideoElement & { requestVideoFrameCallback(cb: FrameCallback): number }).requestVideoFrameCallback((_now, metadata) => {
            canvas.width = video.videoWidth;
            canvas.height = video.videoHeight;
            context.drawImage(video, 0, 0);
            resolve(performance.timeOrigin + metadata.presentationTime);
          }),
        ),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000)),
      ]);
      if (shownAt === undefined) return undefined;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      video.srcObject = null;
      const counts = (window as unknown as LatticeScope).__parleyLattice!(data, canvas.width, canvas.height, palette, maxDistance);
      return { width: canvas.width, height: canvas.height, counts, points, shownAt };
    },
    { palette: palette as Array<[number, number, number]>, maxDistance, points: LATTICE_POINTS },
  );
}

/**
 * Counts the palette's colours in every frame the page presents of its grid, from now on: on the
 * element the page shows it in (what its user sees), in that element's requestVideoFrameCallback,
 * so each count is of the frame presented at its `shownAt`. One element drawn per frame: drawing
 * two or more on every frame made Chromium present every video at ~1 frame per second
 * (bench/mcu/page.ts). Keeps the last `keep` frames (at 15 fps, 2000 is two minutes).
 */
export async function watchGrid(participant: SdkParticipant, palette: readonly Rgb[], maxDistance = 60, keep = 2000): Promise<void> {
  await installLattice(participant);
  await participant.page.evaluate(
    ({ palette, maxDistance, keep, points }) => {
      const scope = window as unknown as LatticeScope;
      if (scope.__parleyGridWatch) return;
      const watch = (scope.__parleyGridWatch = { frames: [] as GridReading[] });
      const canvas = document.createElement('canvas');
      const context = canvas.getContext('2d', { willReadFrequently: true })!;
      type FrameCallback = (now: number, metadata: { presentationTime: number }) => void;
      type Watched = HTMLVideoElement & { requestVideoFrameCallback(cb: FrameCallback): number };
      const watched = new Set<HTMLVideoElement>();
      const follow = (video: Watched) => {
        watched.add(video);
        const onFrame: FrameCallback = (_now, metadata) => {
          if (!video.isConnected) return;
          if (video.videoWidth > 0) {
            canvas.width = video.videoWidth;
            canvas.height = video.videoHeight;
            context.drawImage(video, 0, 0);
            const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
            const counts = scope.__parleyLattice!(data, canvas.width, canvas.height, palette, maxDistance);
            watch.frames.push({ width: canvas.width, height: canvas.height, counts, points, shownAt: performance.timeOrigin + metadata.presentationTime });
            if (watch.frames.length > keep) watch.frames.splice(0, watch.frames.length - keep);
          }
          video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
      };
      // The page's element for the grid (the harness replaces it when the SDK gives a new track).
      const scan = () => {
        const track = (window as unknown as { __parley: { shown: Record<string, MediaStreamTrack> } }).__parley.shown['server:mix-video'];
        for (const video of document.querySelectorAll('video')) {
          const stream = video.srcObject;
          if (!watched.has(video) && stream instanceof MediaStream && track && stream.getVideoTracks()[0] === track) follow(video as Watched);
        }
      };
      scan();
      setInterval(scan, 250);
    },
    { palette: palette as Array<[number, number, number]>, maxDistance, keep, points: LATTICE_POINTS },
  );
}

/** The frames `watchGrid` counted that the page presented at or after `since` (epoch ms), oldest first. */
export async function gridFrames(participant: SdkParticipant, since: number): Promise<GridReading[]> {
  return participant.page.evaluate((since) => ((window as unknown as LatticeScope).__parleyGridWatch?.frames ?? []).filter((frame) => frame.shownAt >= since), since);
}
