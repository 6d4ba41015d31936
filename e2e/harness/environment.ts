import { after, before } from 'node:test';
import { createSocket } from 'node:dgram';
import { silentLogger, startServer, type RunningServer, type ServerConfigInput } from '@parley/server';
import { launchBrowser, type TestBrowser } from './browsers.ts';

export interface CallEnvironment {
  readonly server: RunningServer;
  readonly chromium: TestBrowser;
  readonly firefox: TestBrowser;
}

/**
 * Registers before/after hooks that start one dev-mode Parley server and one Chromium and one
 * Firefox for the whole test file (browsers are the slow part), and stop them afterwards.
 */
export function useCallEnvironment(config: ServerConfigInput = {}): CallEnvironment {
  const env: { server?: RunningServer; chromium?: TestBrowser; firefox?: TestBrowser } = {};
  before(async () => {
    env.server = await startServer({ port: 0, turn: { enabled: false }, ...config, sfu: { udpPort: await freeUdpPort(), workers: 1, ...config.sfu } }, { logger: silentLogger });
    [env.chromium, env.firefox] = await Promise.all([launchBrowser('chromium'), launchBrowser('firefox')]);
  });
  after(async () => {
    await Promise.all([env.chromium?.close(), env.firefox?.close()]);
    await env.server?.close();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use it inside a test`);
    return value;
  };
  return {
    get server() {
      return ready(env.server, 'the server');
    },
    get chromium() {
      return ready(env.chromium, 'Chromium');
    },
    get firefox() {
      return ready(env.firefox, 'Firefox');
    },
  };
}

/** A UDP port nothing listens on right now, for the SFU of one test file. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
