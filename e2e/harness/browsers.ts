/**
 * Browser harness for Parley's e2e tests: one real browser per test file
 * (Debian Chromium via playwright-core, Firefox ESR via puppeteer-core over
 * WebDriver BiDi), several pages per browser (= several call participants),
 * fake camera/microphone, autoplay allowed, no permission prompts.
 *
 * Both browsers run headless from a fresh temp profile directory. `close()`
 * is bounded in time: a graceful close first, then SIGKILL of the browser's
 * process group and process tree (found by PID), then removal of the profile.
 *
 * Functions passed to `evaluate`/`waitFor` are serialised with
 * `Function.prototype.toString()` and run in the page: they must not close
 * over Node variables (pass data through `arg`). Under tsx (esbuild
 * `keepNames`) nested named functions get wrapped in `__name(...)`; every
 * page gets a no-op `__name` shim so that this does not break.
 */
import { accessSync, constants as fsConstants, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { launch as puppeteerLaunch } from 'puppeteer-core';
import type { Browser as PpBrowser, Page as PpPage } from 'puppeteer-core';
import { namespaceLauncher } from './namespace-launch.ts';

export type BrowserName = 'chromium' | 'firefox';

export interface TestPage {
  /** e.g. "chromium#1" */
  name: string;
  goto(url: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Polls `fn` in the page (~every 200 ms) until it returns true; otherwise throws an Error naming `what`. */
  waitFor<A>(
    fn: (arg: A) => boolean | Promise<boolean>,
    arg: A,
    opts: { timeoutMs: number; what: string },
  ): Promise<void>;
  screenshot(path: string): Promise<void>;
  /**
   * A phone: 390x844 CSS pixels at 3x. Chromium also gets mobile mode (meta viewport honoured,
   * overlay scrollbars), touch events and an Android user agent; Firefox gets the size and scale.
   */
  emulatePhone(): Promise<void>;
  close(): Promise<void>;
  /** Console output and uncaught page errors, oldest first (capped). */
  consoleLines: string[];
}

export interface TestBrowser {
  name: BrowserName;
  newPage(): Promise<TestPage>;
  close(): Promise<void>;
  /** SIGKILL of every process of this browser at once, as a crash: no unload handlers, no close. */
  kill(): Promise<void>;
}

export interface LaunchOptions {
  /** Chromium: extra command-line flags. Firefox: extra command-line arguments. */
  extraArgs?: string[];
  /**
   * Runs the browser inside this network namespace (see e2e/netsim: `network.namespace`), so all
   * its traffic crosses that network's link. Needs root. The harness still controls it from here.
   */
  networkNamespace?: string;
  /** The harness's own tests: another executable, and a shorter wait for it to start. */
  executablePath?: string;
  launchTimeoutMs?: number;
  /** Accept a self-signed certificate (a test's own TLS terminator, e.g. HAProxy in e2e/cluster.test.ts). */
  acceptInsecureCerts?: boolean;
}

/** Default executables; override with PARLEY_CHROMIUM / PARLEY_FIREFOX. */
export const DEFAULT_EXECUTABLES: Readonly<Record<BrowserName, string>> = {
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
};

const INSTALL_HINT: Record<BrowserName, string> = {
  chromium: 'DEBIAN_FRONTEND=noninteractive apt-get install -y chromium',
  firefox: 'DEBIAN_FRONTEND=noninteractive apt-get install -y firefox-esr',
};

/** Flags verified on this machine (see /work/shared/ENVIRONMENT.md). No `--disable-features=`: playwright passes its own and Chromium keeps only the last one. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // Several pages share one browser and only one is in front: without these, Chromium throttles
  // the others' timers to one wake-up a second, and a page sampling frames every 100 ms sees
  // one-second "freezes" that are its own sleep.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  // fake camera + microphone, no permission prompt
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // real host addresses instead of mDNS names; loopback candidates too
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.loopback': true,
  // allow <video>.play() with sound and without a user gesture
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.autoplay.block-webaudio': false,
  // keep the browser quiet and off the network
  'browser.shell.checkDefaultBrowser': false,
  'app.update.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
};

const PHONE = {
  width: 390,
  height: 844,
  scale: 3,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};

const LAUNCH_TIMEOUT_MS = 30_000;
const GRACEFUL_CLOSE_MS = 5_000;
const MAX_CONSOLE_LINES = 2_000;
const NAME_SHIM = 'globalThis.__name = globalThis.__name || ((fn) => fn);';

/**
 * Returns the executable for `name`, or throws a clear Error if it is missing
 * or not executable. Tests must fail, never silently skip, without a browser.
 */
export function browserExecutable(name: BrowserName): string {
  const envVar = name === 'chromium' ? 'PARLEY_CHROMIUM' : 'PARLEY_FIREFOX';
  const path = process.env[envVar] || DEFAULT_EXECUTABLES[name];
  try {
    accessSync(path, fsConstants.X_OK);
  } catch (err) {
    throw new Error(
      `e2e harness: ${name} executable not found or not executable at ${path} ` +
        `(${(err as NodeJS.ErrnoException).code ?? String(err)}). Install it with ` +
        `\`${INSTALL_HINT[name]}\` or point ${envVar} at a ${name} binary.`,
    );
  }
  return path;
}

/**
 * Starts a browser with a fresh profile. A start that hangs (seen once in CI: Chromium never
 * opened its DevTools pipe within 30 s) is killed and tried once more, visibly on stderr;
 * any other failure, or a second hang, fails the test.
 */
export async function launchBrowser(name: BrowserName, opts: LaunchOptions = {}): Promise<TestBrowser> {
  try {
    return await launchOnce(name, opts);
  } catch (error) {
    if (!isLaunchTimeout(error)) throw error;
    process.stderr.write(`e2e harness: ${name} did not start within ${opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS} ms; killed it, starting it once more\n`);
    return launchOnce(name, opts);
  }
}

function isLaunchTimeout(error: unknown): boolean {
  const cause = (error as { cause?: { name?: string } }).cause;
  return cause?.name === 'TimeoutError';
}

async function launchOnce(name: BrowserName, opts: LaunchOptions): Promise<TestBrowser> {
  const browserPath = opts.executablePath ?? browserExecutable(name);
  const dir = await mkdtemp(join(tmpdir(), `parley-e2e-${name}-`));
  const tracked: Tracked = { dir, pids: new Set(), extraDirs: [], onCleanup: [] };
  registerForExit(tracked);
  let executablePath = browserPath;
  let launchOpts = opts;
  try {
    if (opts.networkNamespace !== undefined) {
      // A sibling of the profile directory: the browser must not see the launcher among its files.
      const launcherDir = await mkdtemp(join(tmpdir(), `parley-e2e-launcher-`));
      tracked.extraDirs.push(launcherDir);
      const launcher = await namespaceLauncher(name, opts.networkNamespace, browserPath, launcherDir);
      tracked.onCleanup.push(launcher.close);
      executablePath = launcher.executablePath;
      launchOpts = { ...opts, extraArgs: [...(opts.extraArgs ?? []), ...launcher.extraArgs] };
    }
    return name === 'chromium'
      ? await launchChromium(executablePath, tracked, launchOpts)
      : await launchFirefox(executablePath, tracked, launchOpts);
  } catch (err) {
    // A half-started browser must not outlive a failed launch.
    await forceCleanup(tracked);
    throw new Error(`e2e harness: launching ${name} (${executablePath}) failed: ${errorText(err)}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------
// Chromium (playwright-core)

async function launchChromium(executablePath: string, tracked: Tracked, opts: LaunchOptions): Promise<TestBrowser> {
  const context: BrowserContext = await chromium.launchPersistentContext(tracked.dir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    permissions: ['camera', 'microphone'],
    ...(opts.acceptInsecureCerts ? { ignoreHTTPSErrors: true } : {}),
    timeout: opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS,
    viewport: { width: 1280, height: 720 },
  });
  // playwright does not expose the PID of a persistent context: find it by the unique profile dir.
  for (const pid of pidsMentioning(tracked.dir)) tracked.pids.add(pid);
  await context.addInitScript({ content: NAME_SHIM });

  let pageCount = 0;
  const close = once(async () => {
    await withTimeout(context.close(), GRACEFUL_CLOSE_MS, 'chromium context.close()').catch(() => {});
    await forceCleanup(tracked);
  });

  return {
    name: 'chromium',
    async newPage() {
      const page = await context.newPage();
      const testPage = wrapPlaywrightPage(page, `chromium#${++pageCount}`);
      await page.evaluate(NAME_SHIM);
      return testPage;
    },
    close,
    kill: () => forceCleanup(tracked),
  };
}

function wrapPlaywrightPage(page: PwPage, name: string): TestPage {
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
    async close() {
      await withTimeout(page.close(), GRACEFUL_CLOSE_MS, `${name} close`).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// Firefox (puppeteer-core, WebDriver BiDi)

async function launchFirefox(executablePath: string, tracked: Tracked, opts: LaunchOptions): Promise<TestBrowser> {
  const browser: PpBrowser = await puppeteerLaunch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath,
    headless: true,
    userDataDir: tracked.dir,
    extraPrefsFirefox: { ...FIREFOX_PREFS },
    args: [...(opts.extraArgs ?? [])],
    ...(opts.acceptInsecureCerts ? { acceptInsecureCerts: true } : {}),
    timeout: opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS,
    protocolTimeout: 60_000,
    defaultViewport: { width: 1280, height: 720 },
  });
  const pid = browser.process()?.pid;
  if (pid !== undefined) tracked.pids.add(pid);
  for (const p of pidsMentioning(tracked.dir)) tracked.pids.add(p);

  let pageCount = 0;
  const close = once(async () => {
    await withTimeout(browser.close(), GRACEFUL_CLOSE_MS, 'firefox browser.close()').catch(() => {});
    await forceCleanup(tracked);
  });

  return {
    name: 'firefox',
    async newPage() {
      const page = await browser.newPage();
      const testPage = wrapPuppeteerPage(page, `firefox#${++pageCount}`);
      await page.evaluateOnNewDocument(NAME_SHIM);
      await page.evaluate(NAME_SHIM);
      return testPage;
    },
    close,
    kill: () => forceCleanup(tracked),
  };
}

function wrapPuppeteerPage(page: PpPage, name: string): TestPage {
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
// Process and temp-dir cleanup

interface Tracked {
  dir: string;
  pids: Set<number>;
  /** Removed with the profile directory. */
  extraDirs: string[];
  /** Run after the processes are gone (e.g. closing a control-channel bridge). */
  onCleanup: Array<() => Promise<void>>;
}

const live = new Set<Tracked>();
let exitHookInstalled = false;

/** Last resort if the test process exits without calling close(): SIGKILL and remove the profile, synchronously. */
function registerForExit(tracked: Tracked): void {
  live.add(tracked);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of live) {
      for (const pid of collectTree(t)) trySignal(pid, 'SIGKILL');
      for (const dir of [t.dir, ...t.extraDirs]) {
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          /* best effort */
        }
      }
    }
  });
}

async function forceCleanup(tracked: Tracked): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pids = collectTree(tracked);
    if (pids.size === 0) break;
    for (const pid of tracked.pids) trySignal(-pid, 'SIGKILL'); // process group (both launchers spawn detached)
    for (const pid of pids) trySignal(pid, 'SIGKILL');
    await waitGone(pids, 3_000);
  }
  for (const cleanup of tracked.onCleanup.splice(0)) await cleanup().catch(() => {});
  for (const dir of [tracked.dir, ...tracked.extraDirs]) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {});
  live.delete(tracked);
}

/** Our browser processes that are still alive: the recorded PIDs, their descendants, and anything naming our profile dir. */
function collectTree(tracked: Tracked): Set<number> {
  const procs = listProcs();
  const result = new Set<number>();
  for (const pid of tracked.pids) if (procs.has(pid)) result.add(pid);
  for (const [pid, p] of procs) if (p.cmdline.includes(tracked.dir)) result.add(pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!result.has(pid) && result.has(p.ppid)) {
        result.add(pid);
        grew = true;
      }
    }
  }
  return result;
}

function pidsMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const [pid, p] of listProcs()) if (p.cmdline.includes(dir)) out.push(pid);
  return out;
}

/** Live (non-zombie) processes from /proc. */
function listProcs(): Map<number, { ppid: number; cmdline: string }> {
  const procs = new Map<number, { ppid: number; cmdline: string }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return procs;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ..." — comm may contain spaces/parens.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      procs.set(Number(entry), { ppid: Number(fields[1]), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return procs;
}

async function waitGone(pids: Set<number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const procs = listProcs();
    if (![...pids].some((pid) => procs.has(pid))) return;
    await sleep(50);
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

// ---------------------------------------------------------------------------
// small utilities

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
