import { after, before } from 'node:test';
import { freeUdpPort } from '../../packages/server/test/helpers.ts';
import { createServer, type AddressInfo } from 'node:net';
import { appendFileSync } from 'node:fs';
import { createLogger, DEV_API_SECRET, startServer, type Logger, type RunningServer, type ServerConfigInput } from '@parley/server';
import { createNetwork, type Network } from '../netsim/index.ts';
import { launchBrowser, type TestBrowser } from './browsers.ts';

export interface CallEnvironment {
  readonly server: RunningServer;
  readonly chromium: TestBrowser;
  readonly firefox: TestBrowser;
}

/**
 * Registers before/after hooks that start one dev-mode Parley server and one Chromium and one
 * Firefox for the whole test file (browsers are the slow part), and stop them afterwards. A file
 * that uses no Firefox says `{ firefox: false }`: none is started (its start, on 2 cores, delays
 * Chromium's), and `env.firefox` throws.
 */
export function useCallEnvironment(config: ServerConfigInput = {}, options: { firefox?: boolean } = {}): CallEnvironment {
  const env: { server?: RunningServer; chromium?: TestBrowser; firefox?: TestBrowser } = {};
  const withFirefox = options.firefox ?? true;
  before(async () => {
    env.server = await startServer({ port: 0, turn: { enabled: false }, ...config, sfu: { udpPort: await freeUdpPort(), workers: 1, ...config.sfu } }, { logger: testServerLogger() });
    [env.chromium, env.firefox] = await Promise.all([launchBrowser('chromium'), withFirefox ? launchBrowser('firefox') : undefined]);
  });
  after(async () => {
    await Promise.all([env.chromium?.close(), env.firefox?.close()]);
    await env.server?.close();
    assertNoSecretsLogged(env.server);
  });
  return {
    get server() {
      return ready(env.server, 'the server');
    },
    get chromium() {
      return ready(env.chromium, 'Chromium');
    },
    get firefox() {
      if (!withFirefox) throw new Error('this file started its environment without Firefox (useCallEnvironment(config, { firefox: false }))');
      return ready(env.firefox, 'Firefox');
    },
  };
}

/** Every line the test servers of this process logged (capped), for assertNoSecretsLogged. */
const loggedLines: string[] = [];
const MAX_KEPT_LINES = 100_000;

/**
 * The test servers log at debug level into memory (checked for secrets when the file's servers
 * stop); `PARLEY_E2E_SERVER_LOG=<file>` also appends the lines there, to follow what the server
 * did during a failing test.
 */
export function testServerLogger(): Logger {
  const file = process.env.PARLEY_E2E_SERVER_LOG;
  return createLogger({
    level: 'debug',
    write: (line) => {
      if (loggedLines.length < MAX_KEPT_LINES) loggedLines.push(line);
      if (file) appendFileSync(file, `${line}\n`);
    },
  });
}

/** The lines this process's test servers logged that hold every one of `needles`, last `limit` of them: what a failing test prints of the server's side. */
export function serverLogLines(needles: string[], limit = 40): string[] {
  return loggedLines.filter((line) => needles.every((needle) => line.includes(needle))).slice(-limit);
}

/**
 * Throws when any line a test server of this process logged holds a token (a JWT), the dev or a
 * configured API secret, the TURN secret or the metrics token: the whole e2e run's logs are
 * checked this way, file by file, as each environment stops.
 */
export function assertNoSecretsLogged(server: RunningServer | undefined): void {
  const secrets = [DEV_API_SECRET, ...Object.values(server?.config.apiKeys ?? {}), server?.config.ice.turnSecret, server?.config.metrics.token].filter(
    (secret): secret is string => typeof secret === 'string' && secret.length > 0,
  );
  for (const line of loggedLines) {
    if (/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(line)) throw new Error(`a test server logged a token: ${line.slice(0, 300)}`);
    const secret = secrets.find((candidate) => line.includes(candidate));
    if (secret !== undefined) throw new Error(`a test server logged a secret (${secret.slice(0, 4)}…): ${line.slice(0, 300)}`);
  }
}

function ready<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started: use it inside a test or a later hook`);
  return value;
}

/** A UDP port nothing listens on right now, for the SFU of one test file. */
export { freeUdpPort };

/** A TCP port nothing listens on right now, e.g. so a restarted server can come back at the same URL. */
export async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface ShapedCallEnvironment {
  readonly server: RunningServer;
  readonly network: Network;
  /** Chromium on the host, reaching the server on loopback. */
  readonly hostBrowser: TestBrowser;
  /** Chromium inside the netsim namespace: everything it sends and receives crosses the shaped link. */
  readonly shapedBrowser: TestBrowser;
  /** The server as the shaped browser reaches it: a proxy on the veth host address. */
  readonly proxyUrl: string;
}

/**
 * Registers hooks that start a Parley server, a netsim network, and two Chromiums: one on the
 * host and one inside the namespace (`startShapedCall`), and stop them afterwards.
 */
export function useShapedCallEnvironment(config: ServerConfigInput = {}): ShapedCallEnvironment {
  const env: ShapedCallParts = {};
  before(() => startShapedCall(config, env));
  after(() => stopShapedCall(env));
  return {
    get server() {
      return ready(env.server, 'the server');
    },
    get network() {
      return ready(env.network, 'the network');
    },
    get hostBrowser() {
      return ready(env.hostBrowser, 'the host Chromium');
    },
    get shapedBrowser() {
      return ready(env.shapedBrowser, 'the shaped Chromium');
    },
    get proxyUrl() {
      return ready(env.proxyUrl, 'the proxy');
    },
  };
}

/** What `startShapedCall` has started so far. */
export interface ShapedCallParts {
  server?: RunningServer;
  network?: Network;
  hostBrowser?: TestBrowser;
  shapedBrowser?: TestBrowser;
  proxyUrl?: string;
}

/**
 * Starts a Parley server, a netsim network, and two Chromiums: one on the host and one inside the
 * namespace. Signaling from inside goes through a TCP proxy on the veth host address; media goes
 * straight to the SFU's port, which binds every interface because the server's host is loopback.
 * Each part goes into `parts` as soon as it runs, so that `stopShapedCall(parts)` stops whatever
 * was started even when this fails or is interrupted halfway (outside node:test hooks, e.g. a
 * benchmark).
 */
export async function startShapedCall(config: ServerConfigInput = {}, parts: ShapedCallParts = {}): Promise<ShapedCallEnvironment> {
  // No built-in TURN unless asked for: its fixed port 3478 would collide with another server here.
  parts.server = await startServer({ port: 0, turn: { enabled: false }, ...config, sfu: { udpPort: await freeUdpPort(), workers: 1, ...config.sfu } }, { logger: testServerLogger() });
  parts.network = await createNetwork();
  const proxy = await parts.network.exposeTcp({ host: '127.0.0.1', port: parts.server.port });
  parts.proxyUrl = proxy.url;
  // allSettled: a browser that started must be in `parts` (to be closed) even if the other failed.
  const launched = await Promise.allSettled([
    launchBrowser('chromium').then((browser) => (parts.hostBrowser = browser)),
    launchBrowser('chromium', { networkNamespace: parts.network.namespace, extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${proxy.url}`] }).then((browser) => (parts.shapedBrowser = browser)),
  ]);
  for (const result of launched) if (result.status === 'rejected') throw result.reason;
  return { server: parts.server, network: parts.network, proxyUrl: parts.proxyUrl, hostBrowser: parts.hostBrowser!, shapedBrowser: parts.shapedBrowser! };
}

/** Stops what `startShapedCall` started into `parts` (browsers, then the network, then the server). */
export async function stopShapedCall(parts: ShapedCallParts): Promise<void> {
  await Promise.all([parts.hostBrowser?.close(), parts.shapedBrowser?.close()]);
  await parts.network?.close();
  await parts.server?.close();
  assertNoSecretsLogged(parts.server);
}
