/**
 * What `npm run bench:mcu` runs in each participant's page (joined with the e2e harness's
 * `SdkParticipant`): a 640x360 canvas of the participant's own colour published as its camera
 * at 15 fps, and for the flashing publisher white for 200 ms once a second, the time of each
 * flash's paint kept; and on every video the page receives, a watch that notes each rising edge
 * of white in its decoded frames (MediaStreamTrackProcessor, a 48x27 lattice of points: a full
 * picture for the SFU's track of the flasher, its tile in an MCU grid). Functions passed
 * to `evaluate` run in the page and must not close over Node variables. */
import type { ParleyWindow, SdkParticipant } from '../../e2e/harness/participant.ts';

type Rgb = readonly [number, number, number];

interface BenchScope {
  __mcuBench?: { flashes: number[]; edges: Record<string, number[]>; frames: Record<string, number>; stop(): void };
}

/** Share of the lattice that must be white for a picture to count as showing the flash: the flasher's tile in a 3x3 grid is 1/9 of it. */
export const WHITE_SHARE = 0.03;

export async function publishCanvas(participant: SdkParticipant, rgb: Rgb, flashing: boolean): Promise<void> {
  await participant.page.evaluate(
    async ({ rgb, flashing }) => {
      const scope = window as unknown as BenchScope;
      scope.__mcuBench ??= { flashes: [], edges: {}, frames: {}, stop: () => undefined };
      const state = scope.__mcuBench;
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 360;
      const context = canvas.getContext('2d')!;
      // Texture, so the encoder has detail and motion to code as it would from a camera (a flat
      // canvas coded to ~70 kbit/s): a fixed noise tile drawn at a moving offset, faint enough
      // that no point of it reaches the flash's white.
      const noise = document.createElement('canvas');
      noise.width = noise.height = 128;
      const noiseContext = noise.getContext('2d')!;
      const pixels = noiseContext.createImageData(128, 128);
      for (let at = 0; at < pixels.data.length; at += 4) {
        const v = Math.floor(Math.random() * 256);
        pixels.data.set([v, v, v, 255], at);
      }
      noiseContext.putImageData(pixels, 0, 0);
      const start = performance.now();
      let flashIndex = -1;
      const paint = () => {
        const now = performance.now();
        const sinceStart = now - start;
        const white = flashing && sinceStart % 1000 < 200;
        if (white && Math.floor(sinceStart / 1000) !== flashIndex) {
          flashIndex = Math.floor(sinceStart / 1000);
          state.flashes.push(performance.timeOrigin + now);
        }
        context.fillStyle = white ? 'rgb(255, 255, 255)' : `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
        context.fillRect(0, 0, canvas.width, canvas.height);
        if (white) return;
        context.globalAlpha = 0.25;
        const shift = Math.floor(sinceStart / 20) % 128;
        for (let x = -shift; x < canvas.width; x += 128) for (let y = -(shift >> 1); y < canvas.height; y += 128) context.drawImage(noise, x, y);
        context.globalAlpha = 1;
      };
      paint();
      const timer = setInterval(paint, 1000 / 30);
      state.stop = () => clearInterval(timer);
      const track = canvas.captureStream(15).getVideoTracks()[0]!;
      const room = (window as unknown as ParleyWindow).__parley.room;
      await room.localParticipant.publishTrack('camera', track);
    },
    { rgb: rgb as [number, number, number], flashing },
  );
}

/** Starts watching every video the page shows now and later for white edges (and counts frames). */
export async function watchForFlashes(participant: SdkParticipant): Promise<void> {
  await participant.page.evaluate((whiteShare) => {
    const scope = window as unknown as BenchScope;
    scope.__mcuBench ??= { flashes: [], edges: {}, frames: {}, stop: () => undefined };
    const state = scope.__mcuBench;
    const parley = (window as unknown as ParleyWindow).__parley;
    const watched = new Set<MediaStreamTrack>();
    // Each video's decoded frames straight from the track (MediaStreamTrackProcessor), not from a
    // video element: with two or more elements drawn to a canvas on every frame, Chromium
    // presented every video of the page at ~1 frame per second (15 without the drawing).
    const watch = (key: string, track: MediaStreamTrack) => {
      watched.add(track);
      const canvas = new OffscreenCanvas(48, 27);
      const context = canvas.getContext('2d', { willReadFrequently: true })!;
      type Processor = { readable: ReadableStream<VideoFrame> };
      const processor = new (window as unknown as { MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack }) => Processor }).MediaStreamTrackProcessor({ track });
      const reader = processor.readable.getReader();
      let white = false;
      void (async () => {
        for (;;) {
          const { value: frame, done } = await reader.read();
          if (done || !frame) return;
          const at = performance.timeOrigin + performance.now();
          state.frames[key] = (state.frames[key] ?? 0) + 1;
          context.drawImage(frame, 0, 0, canvas.width, canvas.height);
          frame.close();
          const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
          let whites = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i]! > 220 && data[i + 1]! > 220 && data[i + 2]! > 220) whites += 1;
          const nowWhite = whites >= whiteShare * canvas.width * canvas.height;
          if (nowWhite && !white) (state.edges[key] ??= []).push(at);
          white = nowWhite;
        }
      })();
    };
    const scan = () => {
      for (const [key, track] of Object.entries(parley.shown)) if (track.kind === 'video' && !watched.has(track)) watch(key, track);
    };
    scan();
    setInterval(scan, 250);
  }, WHITE_SHARE);
}

export interface PageReading {
  flashes: number[];
  /** Every rising edge of white presented, whatever the video. */
  edges: number[];
  frames: number;
  /** Frames presented per video (`identity:source`, or `server:mix-video`). */
  framesByVideo: Record<string, number>;
}

export async function readPage(participant: SdkParticipant): Promise<PageReading> {
  return participant.page.evaluate(() => {
    const state = (window as unknown as BenchScope).__mcuBench ?? { flashes: [], edges: {}, frames: {} };
    const presented = (window as unknown as ParleyWindow).__parley.presented;
    const app = Object.fromEntries(Object.entries(presented).map(([key, times]) => [`app ${key}`, times.length]));
    return { flashes: [...state.flashes], edges: Object.values(state.edges).flat(), frames: Object.values(state.frames).reduce((a, b) => a + b, 0), framesByVideo: { ...state.frames, ...app } };
  }, undefined);
}

/** Bytes received and sent over every RTP stream of the page (the SDK's getStats). */
export async function rtpBytes(participant: SdkParticipant): Promise<{ received: number; sent: number; sentFrames: number }> {
  const streams = await participant.stats();
  let received = 0;
  let sent = 0;
  // Frames encoded: the most of any simulcast layer (each layer counts the frames it encoded).
  let sentFrames = 0;
  for (const s of streams) {
    if (s.direction === 'inbound') received += s.bytes;
    else {
      sent += s.bytes;
      if (s.kind === 'video') sentFrames = Math.max(sentFrames, s.frames ?? 0);
    }
  }
  return { received, sent, sentFrames };
}
