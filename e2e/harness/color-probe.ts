/**
 * Solid colours in and out of a page joined with `SdkParticipant`, for the MCU's video grid:
 * `publishColor` publishes a canvas of one colour as the camera (repainted at 15 fps, so the
 * encoder gets frames); `gridColours` draws the newest frame of the page's `server:mix-video` at
 * its own size and counts, over an even lattice of points, which of a palette's colours each
 * point shows (nearest within a distance: VP8 keeps a flat colour within a few units).
 */
import type { SdkParticipant } from './participant.ts';

export type Rgb = readonly [number, number, number];

export async function publishColor(participant: SdkParticipant, rgb: Rgb): Promise<void> {
  await participant.page.evaluate(async (rgb) => {
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
    setInterval(paint, 66);
    const track = canvas.captureStream(15).getVideoTracks()[0]!;
    const room = (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room;
    await room.localParticipant.publishTrack('camera', track);
  }, rgb as [number, number, number]);
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
  return participant.page.evaluate(
    async ({ palette, maxDistance }) => {
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
      const counts = palette.map(() => 0);
      const columns = 48;
      const rows = 27;
      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < columns; column++) {
          const x = Math.floor(((column + 0.5) * canvas.width) / columns);
          const y = Math.floor(((row + 0.5) * canvas.height) / rows);
          const at = (y * canvas.width + x) * 4;
          let best = -1;
          let bestDistance = maxDistance;
          palette.forEach(([r, g, b], i) => {
            const distance = Math.hypot(data[at]! - r, data[at + 1]! - g, data[at + 2]! - b);
            if (distance < bestDistance) [best, bestDistance] = [i, distance];
          });
          if (best >= 0) counts[best]! += 1;
        }
      }
      return { width: canvas.width, height: canvas.height, counts, points: columns * rows, shownAt };
    },
    { palette: palette as Array<[number, number, number]>, maxDistance },
  );
}
