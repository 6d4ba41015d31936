/**
 * A page script for the receiving participant: every <video> element the page has or adds gets
 * a `requestVideoFrameCallback` loop recording each callback's `now`, `presentedFrames`, width
 * and height. The elements are pinned to the viewport's top-left corner (a later one on top):
 * the harness appends them below the page's text, and a video outside the viewport might not be
 * composited, which would stop its callbacks.
 */
import type { TestPage } from '../../e2e/harness/browsers.ts';
import type { FrameCallback } from './figures.ts';

/** Rows of [now, presentedFrames, width, height, element]. */
type Row = [number, number, number, number, number];

export async function startFrameRecording(page: TestPage): Promise<void> {
  await page.evaluate(() => {
    const scope = window as unknown as { __quality?: { rows: Row[]; elements: number } };
    if (scope.__quality) return;
    const state = { rows: [] as Row[], elements: 0 };
    scope.__quality = state;
    const ids = new WeakMap<HTMLVideoElement, number>();
    const watch = (video: HTMLVideoElement) => {
      if (ids.has(video)) return;
      const id = state.elements++;
      ids.set(video, id);
      Object.assign(video.style, { position: 'fixed', top: '0', left: '0', width: '480px', height: '270px', zIndex: String(1000 + id) });
      const onFrame = (now: number, metadata: VideoFrameCallbackMetadata) => {
        state.rows.push([now, metadata.presentedFrames, metadata.width, metadata.height, id]);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    };
    const scan = () => document.querySelectorAll('video').forEach(watch);
    scan();
    new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  }, undefined);
}

/** Everything recorded so far, and how many <video> elements were watched. */
export async function readFrameCallbacks(page: TestPage): Promise<{ callbacks: FrameCallback[]; elements: number }> {
  const { rows, elements } = await page.evaluate(() => {
    const state = (window as unknown as { __quality?: { rows: Row[]; elements: number } }).__quality;
    return { rows: state?.rows ?? [], elements: state?.elements ?? 0 };
  }, undefined);
  return { callbacks: rows.map(([at, presentedFrames, width, height, element]) => ({ at, presentedFrames, width, height, element })), elements };
}

/** The page's clock (`performance.now()`, the timeline of the callbacks' `now`). */
export function pageNow(page: TestPage): Promise<number> {
  return page.evaluate(() => performance.now(), undefined);
}

/**
 * WebRTC's own freeze counters (`inbound-rtp` video: `freezeCount`, `totalFreezesDuration`,
 * counted by libwebrtc's renderer with a moving average instead of the window's median) summed
 * over the page's connections, read from the room's PeerConnections as the harness's
 * diagnostics do. A cross-check of the frame callbacks; undefined if the stats lack them.
 */
export function webrtcFreezeCounters(page: TestPage): Promise<{ freezeCount: number; freezeSeconds: number } | undefined> {
  return page.evaluate(async () => {
    const state = (window as unknown as { __parley?: { room: unknown } }).__parley;
    const room = state?.room as { links: Map<string, { pc: RTCPeerConnection }>; sfu?: { connections(identity: string): { pc: RTCPeerConnection }[] }; localParticipant: { identity: string } } | undefined;
    if (!room) return undefined;
    const pcs = [...room.links.values()].map((link) => link.pc).concat((room.sfu?.connections(room.localParticipant.identity) ?? []).map((c) => c.pc));
    let freezeCount = 0;
    let freezeSeconds = 0;
    let seen = false;
    for (const pc of pcs) {
      (await pc.getStats()).forEach((report: { type: string; kind?: string; freezeCount?: number; totalFreezesDuration?: number }) => {
        if (report.type !== 'inbound-rtp' || report.kind !== 'video' || report.freezeCount === undefined) return;
        seen = true;
        freezeCount += report.freezeCount;
        freezeSeconds += report.totalFreezesDuration ?? 0;
      });
    }
    return seen ? { freezeCount, freezeSeconds } : undefined;
  }, undefined);
}
