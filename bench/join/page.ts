/**
 * The pages of `npm run bench:join`. A participant's page loads the SDK, starts its camera and
 * microphone (before `connect()`, as the web app does), renders every received video like an
 * app, and keeps the metadata of the first `requestVideoFrameCallback` of each one and when the
 * first frame out of the decoder reached the page (a `MediaStreamTrackProcessor` on a clone of the
 * track, Chromium), which bench/join/frames.ts turns into when its first frame was decoded and
 * shown. The floor page runs two RTCPeerConnections against each other, no server, and keeps the
 * same. Functions passed to `evaluate` run in the page and must not close over Node variables.
 */
import type { TestBrowser, TestPage } from '../../e2e/harness/browsers.ts';
import type { PageRecord } from './figures.ts';
import { firstFrameOf, type FirstFrame, type FrameCallback } from './frames.ts';

interface JoinState {
  room: import('@parley/client').Room;
  token: string;
  firstFrames: Record<string, FrameCallback>;
  /** `identity:source` -> performance.now() when the processor gave its first frame. */
  firstReads: Record<string, number>;
}

type Scope = { __join?: JoinState };

/** Video elements are pinned in a small grid at the top-left: a video outside the viewport might not be composited. */
const TILE = { width: 160, height: 90, perRow: 4 };

type ReadFirstFrame = (track: MediaStreamTrack, done: (at: number) => void) => void;
type ReaderScope = { __readFirstFrame?: ReadFirstFrame };

/**
 * Run in a page (`evaluate`): defines `window.__readFirstFrame(track, done)`, which calls `done`
 * with `performance.now()` when the first frame of `track` out of the decoder reaches the page's
 * main thread, read from a MediaStreamTrackProcessor on a clone of the track (stopped after it),
 * where the browser has one (Chromium; not Firefox). A page whose rendering the browser throttles
 * runs its video frame callbacks late, not its tasks. Both kinds of page use it.
 */
function installReadFirstFrame(): void {
  type Processor = { readable: ReadableStream<{ close(): void }> };
  (window as unknown as ReaderScope).__readFirstFrame = (track, done) => {
    const Processor = (window as unknown as { MediaStreamTrackProcessor?: new (init: { track: MediaStreamTrack }) => Processor }).MediaStreamTrackProcessor;
    if (!Processor) return;
    const clone = track.clone();
    const reader = new Processor({ track: clone }).readable.getReader();
    void reader.read().then(({ value }) => {
      if (value) done(performance.now());
      value?.close();
      void reader.cancel().catch(() => undefined);
      clone.stop();
    });
  };
}

export class JoinPage {
  private constructor(
    readonly page: TestPage,
    readonly identity: string,
  ) {}

  /**
   * Opens a page, starts capture and fetches a token; `connect()` is a separate call so the
   * benchmark's clock starts there.
   */
  /**
   * `video`: camera constraints (default: the SDK's, 1280x720 at 30 fps, three simulcast layers).
   * The benchmark gives the room's existing participants a lighter camera: eight pages each
   * encoding three 720p layers leave two cores no time for anything else (measured: a room of 8
   * took 17-26 s to show a newcomer, with a floor of 1.6-4.2 s under that load).
   */
  static async open(browser: TestBrowser, serverUrl: string, room: string, identity: string, roomConfig: { topology: 'p2p' | 'sfu' | 'auto' }, video?: MediaTrackConstraints): Promise<JoinPage> {
    const page = await browser.newPage();
    await page.goto(`${serverUrl}/sdk/parley.js`);
    await page.evaluate(installReadFirstFrame, undefined);
    await page.evaluate(
      async ({ serverUrl, room, identity, roomConfig, tile, video }) => {
        const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
        const parleyRoom = new sdk.Room(video ? { capture: { video } } : {});
        const state: JoinState = { room: parleyRoom, token: '', firstFrames: {}, firstReads: {} };
        (window as unknown as Scope).__join = state;
        let tiles = 0;
        parleyRoom.on('trackSubscribed', ({ track, participant, source }) => {
          const element = document.createElement(track.kind === 'video' ? 'video' : 'audio');
          element.autoplay = true;
          element.muted = true;
          element.srcObject = new MediaStream([track]);
          if (element instanceof HTMLVideoElement) {
            const index = tiles++;
            element.playsInline = true;
            Object.assign(element.style, { position: 'fixed', left: `${(index % tile.perRow) * tile.width}px`, top: `${Math.floor(index / tile.perRow) * tile.height}px`, width: `${tile.width}px`, height: `${tile.height}px` });
            const key = `${participant?.identity ?? 'server'}:${source}`;
            (window as unknown as ReaderScope).__readFirstFrame!(track, (at) => (state.firstReads[key] ??= at));
            element.requestVideoFrameCallback((now, metadata) => {
              const { presentationTime, presentedFrames, receiveTime, processingDuration } = metadata;
              state.firstFrames[key] ??= { timeOrigin: performance.timeOrigin, now, presentationTime, presentedFrames, receiveTime, processingDuration };
            });
          }
          document.body.append(element);
          void element.play().catch(() => undefined);
        });
        await parleyRoom.localParticipant.setCameraEnabled(true);
        await parleyRoom.localParticipant.setMicrophoneEnabled(true);
        state.token = await sdk.fetchDevToken(serverUrl, { room, identity, name: identity, roomConfig });
      },
      { serverUrl, room, identity, roomConfig, tile: TILE, video },
    );
    return new JoinPage(page, identity);
  }

  /** `room.connect()`; the SDK's timeline marks its start. */
  async connect(serverUrl: string, room: string): Promise<void> {
    await this.page.evaluate(
      async ({ serverUrl, room }) => {
        const state = (window as unknown as Scope).__join!;
        await state.room.connect(serverUrl, state.token, { room });
      },
      { serverUrl, room },
    );
  }

  /** Waits until the first frame of each of `from`'s cameras was shown here (its callback ran). */
  async waitForFirstFrames(from: string[], timeoutMs: number): Promise<void> {
    await this.page.waitFor(
      (from) => from.every((identity) => (window as unknown as Scope).__join!.firstFrames[`${identity}:camera`] !== undefined),
      from,
      { timeoutMs, what: `${this.identity}: first frames from ${from.join(', ')}` },
    );
  }

  /** Waits until this page's room knows exactly `count` other participants. */
  async waitForParticipants(count: number, timeoutMs: number): Promise<void> {
    await this.page.waitFor((count) => (window as unknown as Scope).__join!.room.remoteParticipants.size === count, count, {
      timeoutMs,
      what: `${this.identity}: ${count} other participants`,
    });
  }

  async record(): Promise<PageRecord> {
    return this.page.evaluate((identity) => {
      const state = (window as unknown as Scope).__join!;
      const firstFrames = Object.fromEntries(Object.entries(state.firstFrames).map(([key, callback]) => [key, { ...callback, firstReadAt: state.firstReads[key] }]));
      return { identity, marks: state.room.timeline.marks.map((m) => ({ ...m })), firstFrames };
    }, this.identity);
  }

  /** The room's state, for a run that failed. */
  async describe(): Promise<string> {
    const record = await this.record().catch((error: Error) => ({ identity: this.identity, marks: [], firstFrames: {}, error: error.message }));
    const t0 = record.marks.find((m) => m.step === 'connect')?.at ?? 0;
    const marks = record.marks.map((m) => `+${Math.round(m.at - t0)} ${m.step} ${m.detail}`).join('; ');
    return `${this.identity}: ${marks} | frames ${Object.keys(record.firstFrames).join(', ')}${'error' in record ? ` | ${record.error}` : ''}`;
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as Scope).__join?.room.disconnect(), undefined).catch(() => undefined);
    await this.page.close();
  }
}

/** The floor of one run: ms from the first `setLocalDescription` to the first frame decoded and shown. */
export interface Floor {
  decoded: number;
  shown: number;
  frame: FirstFrame;
}

/**
 * The floor: in one page, the camera captured first (the SDK's default constraints), then two
 * RTCPeerConnections with trickled candidates; from the first `setLocalDescription` to the first
 * frame of the second connection's video, decoded and shown, by the participants' pages' rule.
 */
export async function measureFloor(browser: TestBrowser, serverUrl: string): Promise<Floor> {
  const page = await browser.newPage();
  try {
    await page.goto(`${serverUrl}/sdk/parley.js`);
    await page.evaluate(installReadFirstFrame, undefined);
    const { start, callback } = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } });
      const a = new RTCPeerConnection();
      const b = new RTCPeerConnection();
      a.onicecandidate = ({ candidate }) => void (candidate && b.addIceCandidate(candidate));
      b.onicecandidate = ({ candidate }) => void (candidate && a.addIceCandidate(candidate));
      const video = document.createElement('video');
      Object.assign(video.style, { position: 'fixed', left: '0', top: '0', width: '160px', height: '90px' });
      video.muted = true;
      video.autoplay = true;
      document.body.append(video);
      const shown = new Promise<FrameCallback>((resolve) =>
        video.requestVideoFrameCallback((now, { presentationTime, presentedFrames, receiveTime, processingDuration }) =>
          resolve({ timeOrigin: performance.timeOrigin, now, presentationTime, presentedFrames, receiveTime, processingDuration }),
        ),
      );
      let firstReadAt: number | undefined;
      b.ontrack = ({ track }) => {
        (window as unknown as ReaderScope).__readFirstFrame!(track, (at) => (firstReadAt ??= at));
        video.srcObject = new MediaStream([track]);
        void video.play().catch(() => undefined);
      };
      const start = performance.timeOrigin + performance.now();
      for (const track of stream.getTracks()) a.addTrack(track, stream);
      await a.setLocalDescription();
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription();
      await a.setRemoteDescription(b.localDescription!);
      const callback = await Promise.race([shown, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the floor call showed no frame within 10 s')), 10_000))]);
      a.close();
      b.close();
      for (const track of stream.getTracks()) track.stop();
      return { start, callback: { ...callback, firstReadAt } };
    }, undefined);
    const frame = firstFrameOf(callback);
    return { decoded: frame.decoded - start, shown: frame.shown - start, frame };
  } finally {
    await page.close();
  }
}
