/**
 * Drives the Parley web app as a person would (join page, call page) and reads what the page
 * shows: participant count, tiles, whether a tile's video is really playing.
 */
import type { TestBrowser, TestPage } from './browsers.ts';

export const byTestId = (id: string) => `[data-testid="${id}"]`;

/**
 * Opens the join page for `room`, types a name and presses Join (after `beforeJoin`, e.g. picking
 * devices). `token`: pasted into the page's token field first, the way a token with grants gets in.
 */
export async function joinThroughUi(
  browser: TestBrowser,
  serverUrl: string,
  room: string,
  name: string,
  options: { phone?: boolean; token?: string; beforeJoin?: (page: TestPage) => Promise<void> } = {},
): Promise<TestPage> {
  const page = await browser.newPage();
  if (options.phone) await page.emulatePhone();
  await page.goto(`${serverUrl}/?room=${room}`);
  await page.waitFor((sel) => document.querySelector(sel) !== null, byTestId('join-button'), { timeoutMs: 10_000, what: 'the join page' });
  if (options.token !== undefined) {
    await page.evaluate((token) => {
      const input = document.querySelector<HTMLTextAreaElement>('[name="token"]');
      if (!input) throw new Error('no token field');
      input.value = token;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, options.token);
  }
  await options.beforeJoin?.(page);
  await page.evaluate(
    ({ name, nameSel, buttonSel }) => {
      const input = document.querySelector<HTMLInputElement>(nameSel)!;
      input.value = name;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      document.querySelector<HTMLButtonElement>(buttonSel)!.click();
    },
    { name, nameSel: byTestId('join-name'), buttonSel: byTestId('join-button') },
  );
  return page;
}

/** Waits until the header says `participants` are in the call. */
export async function waitForCall(page: TestPage, participants: number, timeoutMs = 15_000): Promise<void> {
  await page.waitFor(
    ({ count, n }) => document.querySelector(count)?.textContent?.trim() === String(n),
    { count: byTestId('participant-count'), n: participants },
    { timeoutMs, what: `${participants} participants in the call` },
  );
}

/**
 * Waits until `name`'s tile shows video that plays: a picture size, and more than half a second
 * of media time played from the same track since this call started watching.
 */
export async function waitForRemoteVideo(page: TestPage, name: string, timeoutMs = 20_000): Promise<void> {
  await page.waitFor(
    ({ name }) => {
      const tile = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].find((t) => t.textContent?.includes(name));
      const video = tile?.querySelector<HTMLVideoElement>('[data-testid="tile-video"]');
      const track = video?.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
      if (!video || !track || video.hidden || video.videoWidth === 0) return false;
      // Where this track's playback stood when first seen here: a replaced track starts over.
      const seen = ((window as unknown as { __playedFrom?: Map<MediaStreamTrack, number> }).__playedFrom ??= new Map());
      if (!seen.has(track)) seen.set(track, video.currentTime);
      return video.currentTime - seen.get(track)! > 0.5;
    },
    { name },
    { timeoutMs, what: `${name}'s video playing in a tile` },
  );
}

export const remoteTileState = (page: TestPage, name: string) =>
  page.evaluate(
    ({ name }) => {
      const tile = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].find((t) => t.textContent?.includes(name));
      const video = tile?.querySelector<HTMLVideoElement>('[data-testid="tile-video"]');
      return { exists: !!tile, micMuted: tile?.dataset.micMuted, videoHidden: video?.hidden ?? true };
    },
    { name },
  );

export const click = (page: TestPage, testId: string) => page.evaluate((sel) => document.querySelector<HTMLButtonElement>(sel)!.click(), byTestId(testId));
