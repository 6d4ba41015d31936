/**
 * Starting a browser inside a network namespace (see e2e/netsim): the launcher gets, as its
 * executable, a small generated script that runs the real browser under `ip netns exec`.
 *
 * Chromium talks to playwright over inherited pipes, which cross `ip netns exec` unchanged.
 * Firefox talks WebDriver BiDi over a WebSocket on ITS loopback, which is the namespace's: the
 * script then runs netns-bidi-bridge.mjs, which exposes that port on a unix socket, and here a
 * TCP listener on the host's loopback (on the same port number) forwards to the socket. The control channel never crosses
 * the namespace's (possibly shaped or blocked) link.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserName } from './browsers.ts';

export interface NamespaceLauncher {
  /** The script to give the launcher as its executable. */
  executablePath: string;
  /** Arguments the browser needs on top of the usual ones. */
  extraArgs: string[];
  close(): Promise<void>;
}

const NAMESPACE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const BRIDGE_SCRIPT = fileURLToPath(new URL('./netns-bidi-bridge.mjs', import.meta.url));

/** Writes the launch script for `browser` into `dir` (a private temp directory). */
export async function namespaceLauncher(browser: BrowserName, namespace: string, executable: string, dir: string): Promise<NamespaceLauncher> {
  if (!NAMESPACE_NAME.test(namespace)) throw new Error(`network namespace name ${JSON.stringify(namespace)} is not a plain name`);
  const ip = ipCommand();
  const script = join(dir, `${browser}-in-${namespace}.sh`);
  if (browser === 'chromium') {
    await writeScript(script, [ip, 'netns', 'exec', namespace, executable]);
    return { executablePath: script, extraArgs: [], close: async () => {} };
  }
  const socketPath = join(dir, 'bidi.sock');
  const bridge = await listenForwardingTo(socketPath);
  const port = (bridge.server.address() as AddressInfo).port;
  await writeScript(script, [ip, 'netns', 'exec', namespace, process.execPath, BRIDGE_SCRIPT, socketPath, String(port), executable]);
  return {
    executablePath: script,
    // Firefox checks that the Host header names the port it listens on: the same number on both
    // sides of the bridge (the namespace's loopback is its own, so the port is free there).
    extraArgs: [`--remote-debugging-port=${port}`],
    close: bridge.close,
  };
}

function writeScript(path: string, command: string[]): Promise<void> {
  const quoted = command.map((part) => `'${part.replaceAll("'", `'\\''`)}'`).join(' ');
  return writeFile(path, `#!/bin/sh\nexec ${quoted} "$@"\n`, { mode: 0o700 });
}

/** A TCP listener on the host's loopback whose connections are forwarded to a unix socket. */
async function listenForwardingTo(socketPath: string): Promise<{ server: Server; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const target = createConnection(socketPath);
    for (const socket of [client, target]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    client.pipe(target).pipe(client);
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function ipCommand(): string {
  for (const path of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) {
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      /* try the next */
    }
  }
  throw new Error('the `ip` command (iproute2) is missing: DEBIAN_FRONTEND=noninteractive apt-get install -y iproute2');
}
