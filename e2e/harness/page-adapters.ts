/**
 * The e2e harness's page adapters: one `TestPage` over a playwright page (Chromium) or a
 * puppeteer page (Firefox), with the page's console kept for failure messages and `waitFor`, a
 * poll whose timeout says what it waited for and what the page printed last.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page as PwPage } from 'playwright-core';
import type { Page as PpPage } from 'puppeteer-core';
import type { TestPage } from './browsers.ts';

/** A phone's screen for `emulatePhone()`. */
const PHONE = {
  width: 390,
  height: 844,
  scale: 3,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};

export const LAUNCH_TIMEOUT_MS = 30_000;
export const GRACEFUL_CLOSE_MS = 5_000;
const MAX_CONSOLE_LINES = 2_000;

export function wrapPlaywrightPage(page: PwPage, name: string): TestPage {
  const consoleLines: string[] = [];
  const push = (line: string) => pushLine(consoleLines, line);
  page.on('console', (msg) => push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => push(`[pageerror] ${errorText(err)}`));
  page.on('crash', () => push('[crash] page crashed'));

  const evaluate = <R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> =>
    // playwright types the callback's parameter as Unboxed<A>, which a generic A is not assignable to.
    page.evaluate<R, unknown>(fn as (arg: unknown) => R | Promise<R>, arg);

  return {
    name,
    consoleLines,
    async goto(url) {
      await page.goto(url, { waitUntil: 'load', timeout: LAUNCH_TIMEOUT_MS });
    },
    evaluate,
    waitFor: (fn, arg, o) => pollUntil(name, consoleLines, evaluate, fn, arg, o),
    async screenshot(path) {
      await page.screenshot({ path, timeout: 10_000 });
    },
    async emulatePhone() {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setDeviceMetricsOverride', { width: PHONE.width, height: PHONE.height, deviceScaleFactor: PHONE.scale, mobile: true });
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
      await cdp.send('Emulation.setUserAgentOverride', { userAgent: PHONE.userAgent });
    },
    async saveDownload(trigger, path, timeoutMs = 30_000) {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: timeoutMs }), trigger()]);
      await download.saveAs(path);
      return { suggestedFilename: download.suggestedFilename() };
    },
    async close() {
      await withTimeout(page.close(), GRACEFUL_CLOSE_MS, `${name} close`).catch(() => {});
    },
  };
}

export function wrapPuppeteerPage(page: PpPage, name: string): TestPage {
  const consoleLines: string[] = [];
  const push = (line: string) => pushLine(consoleLines, line);
  page.on('console', (msg) => push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => push(`[pageerror] ${errorText(err)}`));

  const evaluate = <R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> =>
    (page.evaluate as (f: (a: A) => unknown, a: A) => Promise<unknown>)(fn, arg) as Promise<R>;

  return {
    name,
    consoleLines,
    async goto(url) {
      await page.goto(url, { waitUntil: 'load', timeout: LAUNCH_TIMEOUT_MS });
    },
    evaluate,
    waitFor: (fn, arg, o) => pollUntil(name, consoleLines, evaluate, fn, arg, o),
    async screenshot(path) {
      await page.screenshot({ path: path as `${string}.png` });
    },
    async emulatePhone() {
      await page.setViewport({ width: PHONE.width, height: PHONE.height, deviceScaleFactor: PHONE.scale });
    },
    async saveDownload() {
      throw new Error(`${name}: the e2e harness saves downloads in Chromium only (puppeteer's WebDriver BiDi has no download event)`);
    },
    async close() {
      await withTimeout(page.close(), GRACEFUL_CLOSE_MS, `${name} close`).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// waitFor

const POLL_INTERVAL_MS = 200;
const CONSOLE_TAIL = 25;

async function pollUntil<A>(
  pageName: string,
  consoleLines: string[],
  evaluate: <R, B>(fn: (arg: B) => R | Promise<R>, arg: B) => Promise<R>,
  fn: (arg: A) => boolean | Promise<boolean>,
  arg: A,
  opts: { timeoutMs: number; what: string },
): Promise<void> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let polls = 0;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    polls++;
    try {
      // A hung evaluate (page busy, navigation) must not stretch the deadline.
      lastValue = await withTimeout(evaluate(fn, arg), remaining, 'evaluate');
      lastError = undefined;
      if (lastValue === true) return;
    } catch (err) {
      lastError = err;
    }
    const wait = Math.min(POLL_INTERVAL_MS, deadline - Date.now());
    if (wait > 0) await sleep(wait);
  }
  const tail = consoleLines.slice(-CONSOLE_TAIL);
  throw new Error(
    `${pageName}: timed out after ${Date.now() - started} ms (${polls} polls) waiting for ${opts.what}` +
      (lastError !== undefined ? `\nlast evaluate error: ${errorText(lastError)}` : `\nlast value: ${String(lastValue)}`) +
      `\nlast ${tail.length} console line(s) of ${pageName}:` +
      (tail.length ? `\n  ${tail.join('\n  ')}` : ' (none)'),
  );
}

// ---------------------------------------------------------------------------
// small utilities

export function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function pushLine(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > MAX_CONSOLE_LINES) lines.splice(0, lines.length - MAX_CONSOLE_LINES);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
