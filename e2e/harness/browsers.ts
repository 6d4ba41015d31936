/**
 * Browser harness for Parley's e2e tests: one real browser per test file
 * (Debian Chromium via playwright-core, Firefox ESR via puppeteer-core over
 * WebDriver BiDi), several pages per browser (= several call participants),
 * fake camera/microphone, autoplay allowed, no permission prompts.
 *
 * Both browsers run headless from a fresh temp profile directory (either can run headful on an
 * Xvfb display instead, `headful`, and Chromium with a user's throttling of hidden tabs,
 * `throttleHiddenPages`, which Firefox applies by default: for e2e/recording-hidden-tab.test.ts). `close()`
 * is bounded in time: a graceful close first, then SIGKILL of the browser's
 * process group and process tree (found by PID), then removal of the profile
 * (`process-reaping.ts`). Pages are `TestPage`s (`page-adapters.ts`).
 *
 * Functions passed to `evaluate`/`waitFor` are serialised with
 * `Function.prototype.toString()` and run in the page: they must not close
 * over Node variables (pass data through `arg`). Under tsx (esbuild
 * `keepNames`) nested named functions get wrapped in `__name(...)`; every
 * page gets a no-op `__name` shim so that this does not break.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext } from 'playwright-core';
import { launch as puppeteerLaunch } from 'puppeteer-core';
import type { Browser as PpBrowser } from 'puppeteer-core';
import { namespaceLauncher } from './namespace-launch.ts';
import { errorText, GRACEFUL_CLOSE_MS, LAUNCH_TIMEOUT_MS, once, withTimeout, wrapPlaywrightPage, wrapPuppeteerPage } from './page-adapters.ts';
import { forceCleanup, pidsMentioning, registerForExit, type Tracked } from './process-reaping.ts';

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
  /**
   * Runs `trigger` (e.g. a click on a download button) and saves the download it starts to
   * `path`; answers the file name the page suggested. Chromium only: puppeteer's WebDriver BiDi
   * has no download event.
   */
  saveDownload(trigger: () => Promise<unknown>, path: string, timeoutMs?: number): Promise<{ suggestedFilename: string }>;
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
  /**
   * A headful browser on this X display (`startXvfb()` in xvfb.ts) instead of a headless one, with
   * the same flags and prefs (Chromium: started here and driven over CDP, connectHeadful says
   * why). Neither browser hides a page when headless; headful, a tab is hidden when another tab
   * is opened in front of it (`document.visibilityState === 'hidden'`).
   */
  headful?: { display: string };
  /**
   * Chromium only: throttle hidden pages as a user's browser does (timers of a hidden tab wake
   * about once a second): leaves out the harness's and Playwright's `--disable-background-*` /
   * `--disable-renderer-backgrounding` flags, which every other test keeps.
   */
  throttleHiddenPages?: boolean;
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

/** The flags that keep Chromium from throttling hidden pages; Playwright passes them too. */
const BACKGROUND_FLAGS = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'] as const;

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
  // one-second "freezes" that are its own sleep. (`throttleHiddenPages` leaves them out.)
  ...BACKGROUND_FLAGS,
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
 * Starts a browser with a fresh profile. A start that hangs (Chromium can fail to open its
 * DevTools pipe within 30 s on a loaded machine) is killed and tried once more, visibly on
 * stderr; any other failure, or a second hang, fails the test.
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
  const throttled = opts.throttleHiddenPages === true;
  const flags = [...(throttled ? CHROMIUM_ARGS.filter((flag) => !(BACKGROUND_FLAGS as readonly string[]).includes(flag)) : CHROMIUM_ARGS), ...(opts.extraArgs ?? [])];
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  if (opts.headful) {
    const browser = await connectHeadful(executablePath, tracked, opts.headful.display, flags, opts);
    const first = browser.contexts()[0];
    if (!first) throw new Error('the headful Chromium has no browser context');
    context = first;
    closeBrowser = () => browser.close();
  } else {
    context = await chromium.launchPersistentContext(tracked.dir, {
      executablePath,
      headless: true,
      ...(throttled ? { ignoreDefaultArgs: [...BACKGROUND_FLAGS] } : {}),
      args: flags,
      permissions: ['camera', 'microphone'],
      ...(opts.acceptInsecureCerts ? { ignoreHTTPSErrors: true } : {}),
      timeout: opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS,
      viewport: { width: 1280, height: 720 },
    });
    closeBrowser = () => context.close();
    // playwright does not expose the PID of a persistent context: find it by the unique profile dir.
    for (const pid of pidsMentioning(tracked.dir)) tracked.pids.add(pid);
  }
  await context.addInitScript({ content: NAME_SHIM });

  let pageCount = 0;
  const close = once(async () => {
    await withTimeout(closeBrowser(), GRACEFUL_CLOSE_MS, 'chromium close').catch(() => {});
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

/**
 * A headful Chromium on `display`, started here and driven over CDP. Not playwright's launch:
 * playwright turns on focus emulation for every page of a browser it launched, and Chromium keeps
 * a page with focus emulation `visible` behind another tab (measured: a tab opened in front, or
 * the window minimized, left it visible); `connectOverCDP` with `noDefaults` leaves it off, and a
 * tab opened in front then hides the page as it would a user's.
 */
async function connectHeadful(executablePath: string, tracked: Tracked, display: string, flags: string[], opts: LaunchOptions): Promise<Browser> {
  const timeoutMs = opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS;
  const args = [
    ...flags,
    ...(opts.acceptInsecureCerts ? ['--ignore-certificate-errors'] : []),
    // What playwright's own launch adds that matters here: no keyring prompt, no default-browser
    // question, a window of the headless viewport's size.
    '--password-store=basic',
    '--no-default-browser-check',
    '--window-size=1280,720',
    `--user-data-dir=${tracked.dir}`,
    '--remote-debugging-port=0',
    'about:blank',
  ];
  // Its own process group (forceCleanup kills the group), found again by PID.
  const child = spawn(executablePath, args, { env: { ...process.env, DISPLAY: display }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid !== undefined) tracked.pids.add(child.pid);
  let stderr = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`no DevTools endpoint within ${timeoutMs} ms: ${stderr.slice(-500)}`), { name: 'TimeoutError' })), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before its DevTools endpoint: ${stderr.slice(-500)}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  for (const pid of pidsMentioning(tracked.dir)) tracked.pids.add(pid);
  return chromium.connectOverCDP(endpoint, { noDefaults: true, isLocal: true, timeout: timeoutMs });
}

// ---------------------------------------------------------------------------
// Firefox (puppeteer-core, WebDriver BiDi)

async function launchFirefox(executablePath: string, tracked: Tracked, opts: LaunchOptions): Promise<TestBrowser> {
  if (opts.throttleHiddenPages) throw new Error('throttleHiddenPages is for Chromium only (Firefox throttles hidden tabs by default)');
  const browser: PpBrowser = await puppeteerLaunch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath,
    headless: !opts.headful,
    ...(opts.headful ? { env: { ...process.env, DISPLAY: opts.headful.display } } : {}),
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
