// Janus 1.1.2 (Debian's `janus` package) as the reference SFU: the videoroom plugin only, the
// HTTP transport on loopback, ICE on the host's own interface (Janus never gathers loopback
// candidates), started from a generated configuration in a temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '../cleanup.ts';
import type { PublisherClient } from '../clients/client-pool.ts';
import type { HostAddress } from '../host-address.ts';
import { JanusSession } from './janus-api.ts';
import { TargetUnavailableError, type Round, type SfuTarget } from './target.ts';

const INSTALL_HINT = 'install it with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y janus janus-tools';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export class JanusTarget implements SfuTarget {
  readonly name = 'janus';
  description = 'Janus (videoroom plugin)';
  readonly measuredProcesses = 'the janus process';
  private janus: ChildProcess | undefined;
  private workDir: string | undefined;
  private baseUrl = '';
  private nextRoomId = 1000;
  private readonly unregisterCleanup = onCleanup(() => this.stop());

  constructor(private readonly host: HostAddress) {}

  async start(): Promise<void> {
    const janusBinary = findOnPath('janus');
    const libraryDir = findJanusLibraryDir();
    if (!janusBinary || !libraryDir) throw new TargetUnavailableError(`Janus is not installed: ${INSTALL_HINT}`);
    this.description = `Janus ${janusVersion(janusBinary)} (videoroom plugin)`;

    this.workDir = mkdtempSync(join(tmpdir(), 'parley-bench-janus-'));
    const port = await freeLoopbackPort();
    writeJanusConfig(this.workDir, libraryDir, port, this.host);
    const logPath = join(this.workDir, 'janus.log');
    const log = openSync(logPath, 'w');
    this.janus = spawn(janusBinary, ['--config', join(this.workDir, 'janus.jcfg'), '--configs-folder', this.workDir, '--disable-colors'], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.baseUrl = `http://127.0.0.1:${port}/janus`;
    try {
      await this.waitUntilServing();
    } catch (error) {
      const tail = readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nlast lines of the Janus log:\n${tail}`);
    }
  }

  processIds(): number[] {
    if (this.janus?.pid === undefined || this.janus.exitCode !== null) throw new Error('Janus is not running');
    return [this.janus.pid];
  }

  async openRound(publisher: PublisherClient): Promise<Round> {
    const session = await JanusSession.create(this.baseUrl);
    try {
      const room = this.nextRoomId++;
      const publisherHandle = await session.attachVideoRoom();
      await publisherHandle.request({ request: 'create', room, publishers: 1, videocodec: 'vp8', bitrate: 0, is_private: true });
      const joined = await publisherHandle.send({ request: 'join', ptype: 'publisher', room, display: publisher.name });
      const feed = joined.data.id;
      const offer = await publisher.createOffer();
      const published = await publisherHandle.send({ request: 'publish' }, { type: 'offer', sdp: offer, trickle: false });
      if (!published.jsep) throw new Error('Janus answered the publish request without an SDP answer');
      await publisher.acceptAnswer(published.jsep.sdp);
      return {
        addSubscriber: async (subscriber) => {
          const handle = await session.attachVideoRoom();
          const attached = await handle.send({ request: 'join', ptype: 'subscriber', room, streams: [{ feed }] });
          if (!attached.jsep) throw new Error('Janus sent a subscriber no SDP offer');
          const answer = await subscriber.acceptOffer(attached.jsep.sdp);
          await handle.send({ request: 'start' }, { type: 'answer', sdp: answer, trickle: false });
        },
        leave: async () => {
          await publisherHandle.request({ request: 'destroy', room }).catch(() => undefined);
          await session.destroy();
        },
      };
    } catch (error) {
      await session.destroy();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.unregisterCleanup();
    const janus = this.janus;
    this.janus = undefined;
    if (janus?.pid !== undefined && janus.exitCode === null && janus.signalCode === null) {
      const exited = new Promise((resolve) => janus.once('exit', resolve));
      process.kill(janus.pid, 'SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
      if (!stopped) {
        process.kill(janus.pid, 'SIGKILL');
        await exited;
      }
    }
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    this.workDir = undefined;
  }

  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.janus?.exitCode !== null) throw new Error(`Janus exited on start (code ${this.janus?.exitCode})`);
      try {
        const response = await fetch(`${this.baseUrl}/info`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await delay(100);
    }
    throw new Error(`Janus did not answer on ${this.baseUrl} within ${START_TIMEOUT_MS} ms`);
  }
}

function writeJanusConfig(workDir: string, libraryDir: string, httpPort: number, host: HostAddress): void {
  // Only the videoroom plugin and the HTTP transport are loaded: Janus loads every library in
  // its folders, so each folder holds just the one it needs.
  const folders = { plugins: 'libjanus_videoroom.so', transports: 'libjanus_http.so', events: undefined, loggers: undefined };
  for (const [folder, library] of Object.entries(folders)) {
    mkdirSync(join(workDir, folder));
    if (library) symlinkSync(join(libraryDir, folder, library), join(workDir, folder, library));
  }
  writeFileSync(
    join(workDir, 'janus.jcfg'),
    `general: {
  configs_folder = "${workDir}"
  plugins_folder = "${join(workDir, 'plugins')}"
  transports_folder = "${join(workDir, 'transports')}"
  events_folder = "${join(workDir, 'events')}"
  loggers_folder = "${join(workDir, 'loggers')}"
  debug_level = 4
  server_name = "parley-bench"
}
certificates: {
}
media: {
}
nat: {
  nice_debug = false
  ice_enforce_list = "${host.interfaceName}"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
  broadcast = false
}
`,
  );
  writeFileSync(
    join(workDir, 'janus.transport.http.jcfg'),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
`,
  );
  writeFileSync(join(workDir, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Debian puts the plugins under /usr/lib/<multiarch triplet>/janus. */
function findJanusLibraryDir(): string | undefined {
  const candidates = ['/usr/lib/janus', '/usr/local/lib/janus', '/opt/janus/lib/janus'];
  for (const entry of readdirSync('/usr/lib')) candidates.push(join('/usr/lib', entry, 'janus'));
  return candidates.find((dir) => existsSync(join(dir, 'plugins', 'libjanus_videoroom.so')) && existsSync(join(dir, 'transports', 'libjanus_http.so')));
}

function janusVersion(binary: string): string {
  const output = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /Janus version: \d+ \(([^)]+)\)/.exec(output)?.[1] ?? '(unknown version)';
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
