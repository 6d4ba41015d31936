/**
 * When a page of `npm run bench:join` decoded, and when it showed, its first frame of a video.
 * The pages keep the metadata of their first `requestVideoFrameCallback` as the browser gave it,
 * and when the first frame out of the decoder reached the page's script (`FrameCallback`); this
 * rule turns them into times, in Node, the same for the participants' pages and the floor's.
 * Unit-tested in bench/test/join.test.ts.
 *
 * Decoded, by the first of these that applies:
 * 1. the callback describes the first frame presented (`presentedFrames` 1): its `receiveTime`
 *    (the frame's last packet received) + `processingDuration` (seconds; in Chromium, libwebrtc's
 *    decode time: from the frame handed to the decoder to the frame out of it). A wait between
 *    the two (the jitter buffer, a busy decoding thread) is left out, so it is the earliest the
 *    frame can have been decoded. Firefox (ESR 153) gives both fields too.
 * 2. the callback describes a later frame (frames were presented in rendering steps that ran no
 *    callback: a page whose rendering the browser throttles): the earlier of the first frame's
 *    arrival at a `MediaStreamTrackProcessor` on a clone of the track (Chromium: the decoded
 *    frame posted to the page's main thread) and the later frame's presentation time. Both come
 *    after the first frame was decoded, so this is the latest it can have been; how late the
 *    processor is, is measured where both apply (`readLag`).
 * 3. without a processor (Firefox): the later frame's receive + decode time, counted apart;
 * 4. a browser that gives no receive time: the presentation time.
 * Shown: `presentationTime`, when the frame the callback describes was handed to the compositor.
 * All are DOMHighResTimeStamps on the page's clock; + `performance.timeOrigin` they are wall-clock
 * ms, comparable across pages and with the server's `Date.now()` to a few ms.
 */
/** The first `requestVideoFrameCallback` of a video as the page received it, and the processor's first frame. */
export interface FrameCallback {
  /** The page's `performance.timeOrigin`. */
  timeOrigin: number;
  /** The callback's first argument (the rendering step's time). */
  now: number;
  presentationTime: number;
  presentedFrames: number;
  /** Only for remote (WebRTC) video, and only in browsers that give it. */
  receiveTime?: number;
  processingDuration?: number;
  /** `performance.now()` when the first frame was read from a MediaStreamTrackProcessor (Chromium). */
  firstReadAt?: number;
}

export type DecodedFrom = 'first frame' | 'processor' | 'later frame' | 'shown';

export interface FirstFrame {
  /** Wall-clock ms: the first frame decoded, by the rule above. */
  decoded: number;
  /** From 'first frame': ms from decoded to the processor's first frame, where there was one. */
  readLag: number | undefined;
  /** Wall-clock ms: handed to the compositor. */
  shown: number;
  decodedFrom: DecodedFrom;
  /** More than 1: frames were presented before this callback, which describes a later one. */
  presentedFrames: number;
}

export function firstFrameOf(callback: FrameCallback): FirstFrame {
  const { timeOrigin, now, presentationTime, receiveTime, processingDuration, presentedFrames, firstReadAt } = callback;
  const shown = timeOrigin + (presentationTime || now);
  const measured = typeof receiveTime === 'number' && receiveTime > 0 && typeof processingDuration === 'number' ? receiveTime + processingDuration * 1000 : undefined;
  const [decodedFrom, at]: [DecodedFrom, number] =
    measured !== undefined && presentedFrames <= 1
      ? ['first frame', measured]
      : typeof firstReadAt === 'number'
        ? ['processor', Math.min(firstReadAt, presentationTime || now)]
        : measured !== undefined
          ? ['later frame', measured]
          : ['shown', presentationTime || now];
  const readLag = decodedFrom === 'first frame' && typeof firstReadAt === 'number' ? firstReadAt - at : undefined;
  return { decoded: timeOrigin + at, shown, decodedFrom, presentedFrames, readLag };
}

/** Checks over a case's first frames, printed with its table: where the decoded times came from. */
export interface FrameChecks {
  frames: number;
  from: Record<DecodedFrom, number>;
  /** Decoded after shown: for the first frame presented, a sign the two are not on one clock. */
  decodedAfterShown: number;
  /** Each `readLag`: how much later than decoded the processor gives a first frame. */
  readLags: number[];
}

export const NO_CHECKS: FrameChecks = { frames: 0, from: { 'first frame': 0, processor: 0, 'later frame': 0, shown: 0 }, decodedAfterShown: 0, readLags: [] };

export function checkFrames(frames: readonly FirstFrame[]): FrameChecks {
  const from = { ...NO_CHECKS.from };
  for (const frame of frames) from[frame.decodedFrom] += 1;
  const readLags = frames.flatMap((f) => (f.readLag === undefined ? [] : [f.readLag]));
  return { frames: frames.length, from, decodedAfterShown: frames.filter((f) => f.decoded > f.shown).length, readLags };
}

export function addChecks(a: FrameChecks, b: FrameChecks): FrameChecks {
  const from = { ...a.from };
  for (const [key, count] of Object.entries(b.from) as [DecodedFrom, number][]) from[key] += count;
  return { frames: a.frames + b.frames, from, decodedAfterShown: a.decodedAfterShown + b.decodedAfterShown, readLags: [...a.readLags, ...b.readLags] };
}
