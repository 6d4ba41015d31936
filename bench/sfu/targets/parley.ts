// Parley's own SFU: a Parley server in a child process (its SFU workers are that process's
// children), signaled over the WebSocket protocol like any SDK: the publisher sends
// `publishTrack` with its offer, each subscriber answers the server's `subscriberOffer`.
// CPU counts the signaling process and every SFU worker, summed.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createToken, resolveConfig, type ServerConfigInput } from '@parley/server';
import { onCleanup } from '../cleanup.ts';
import type { PeerClient, PublisherClient } from '../clients/client-pool.ts';
import { childProcessIds } from '../cpu.ts';
import type { HostAddress } from '../host-address.ts';
import { ParleySignaling, type ServerMessage } from './parley-signaling.ts';
import { TargetUnavailableError, type Round, type SfuTarget } from './target.ts';

const serverEntry = fileURLToPath(new URL('./parley-server.ts', import.meta.url));
const API_KEY = 'bench';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const SUBSCRIBE_TIMEOUT_MS = 15_000;
const TOKEN_TTL_SECONDS = 3600;
/** A recording's export (ffmpeg over the round's raw files) must be over before the next round starts. */
const EXPORT_TIMEOUT_MS = 180_000;

export class ParleyTarget implements SfuTarget {
  readonly name = 'parley';
  readonly description = 'Parley SFU (node-datachannel workers)';
  readonly measuredProcesses = 'the Parley server process plus its SFU worker processes';
  private server: ChildProcess | undefined;
  private wsUrl = '';
  /** Where `--record` rounds' server recordings go (removed at the stop). */
  private readonly recordingDirectory = mkdtempSync(join(tmpdir(), 'parley-bench-rec-'));
  private readonly apiSecret = randomBytes(32).toString('hex');
  private nextRoom = 1;
  private readonly unregisterCleanup = onCleanup(() => this.stop());

  constructor(private readonly host: HostAddress) {}

  async start(): Promise<void> {
    const config = await this.serverConfig();
    try {
      resolveConfig(config);
    } catch (error) {
      throw new TargetUnavailableError(
        `this Parley build has no SFU to measure (its configuration refuses the SFU settings: ${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const server = fork(serverEntry, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PARLEY_BENCH_SERVER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.server = server;
    this.wsUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Parley did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      server.once('message', (message: { wsUrl: string }) => {
        clearTimeout(timer);
        resolve(message.wsUrl);
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Parley exited on start (code ${code})`));
      });
    });
  }

  /** The signaling process and its SFU workers (which start with the first SFU room). */
  processIds(): number[] {
    const pid = this.server?.pid;
    if (pid === undefined || this.server?.exitCode !== null) throw new Error('Parley is not running');
    return [pid, ...childProcessIds(pid)];
  }

  async openRound(publisher: PublisherClient): Promise<Round> {
    const room = `bench-${this.nextRoom++}`;
    const sockets: ParleySignaling[] = [];
    const leave = async (): Promise<void> => {
      await Promise.all(sockets.map((socket) => socket.close()));
    };
    try {
      const publisherSocket = await this.join(room, publisher.name, { canPublish: true, canSubscribe: false });
      sockets.push(publisherSocket);
      const offer = await publisher.createOffer();
      const published = await publisherSocket.request('publishTrack', { source: 'camera', sdp: offer });
      if (published.type !== 'trackPublished' || typeof published.sdp !== 'string') {
        throw new Error(`Parley answered publishTrack with ${published.type}, not trackPublished with an SDP`);
      }
      await publisher.acceptAnswer(published.sdp);
      return {
        addSubscriber: async (subscriber) => {
          sockets.push(await this.subscribe(room, subscriber));
        },
        record: () => this.record(room),
        leave,
      };
    } catch (error) {
      await leave();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.unregisterCleanup();
    const server = this.server;
    this.server = undefined;
    if (server?.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
    const workers = childProcessIds(server.pid);
    const exited = new Promise((resolve) => server.once('exit', resolve));
    process.kill(server.pid, 'SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
    if (!stopped) {
      process.kill(server.pid, 'SIGKILL');
      await exited;
    }
    for (const worker of workers) killIfRunning(worker);
    rmSync(this.recordingDirectory, { recursive: true, force: true });
  }

  /** A server (`tracks`) recording of the room through the REST API, as an operator starts one. */
  private async record(room: string): Promise<() => Promise<void>> {
    const token = await createToken({ apiKey: API_KEY, apiSecret: this.apiSecret, room, identity: 'bench-operator', ttlSeconds: TOKEN_TTL_SECONDS, grants: { canRecord: true } });
    const base = `${new URL(this.wsUrl).origin.replace(/^ws/, 'http')}/api/rooms/${encodeURIComponent(room)}/recordings`;
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as { id?: string; status?: string; error?: unknown } };
    };
    const started = await api('POST', '', { mode: 'tracks' });
    if (started.status !== 201 || !started.json.id) throw new Error(`Parley refused the server recording: ${started.status} ${JSON.stringify(started.json)}`);
    const id = started.json.id;
    return async () => {
      const stopped = await api('POST', `/${id}/stop`);
      if (stopped.status !== 200) throw new Error(`Parley did not stop the server recording: ${stopped.status} ${JSON.stringify(stopped.json)}`);
      const deadline = Date.now() + EXPORT_TIMEOUT_MS;
      // Ready or failed: either way the export is over (the synthetic publisher's payload is no real VP8).
      while (!['ready', 'failed'].includes((await api('GET', `/${id}`)).json.status ?? '')) {
        if (Date.now() > deadline) throw new Error(`the server recording's export did not end within ${EXPORT_TIMEOUT_MS} ms`);
        await delay(200);
      }
      await api('DELETE', `/${id}`);
    };
  }

  /** Joins and answers every `subscriberOffer`; resolves once the publisher's video is offered and answered. */
  private async subscribe(room: string, subscriber: PeerClient): Promise<ParleySignaling> {
    let negotiation = Promise.resolve();
    let resolveVideo: () => void = () => undefined;
    let rejectVideo: (error: Error) => void = () => undefined;
    const videoAnswered = new Promise<void>((resolve, reject) => {
      resolveVideo = resolve;
      rejectVideo = reject;
    });
    const socket = await this.join(room, subscriber.name, { canPublish: false, canSubscribe: true }, (signaling) => {
      signaling.on('subscriberOffer', (offer: ServerMessage) => {
        negotiation = negotiation
          .then(async () => {
            const answer = await subscriber.acceptOffer(String(offer.sdp));
            await signaling.request('subscriberAnswer', { sdp: answer });
            const tracks = Array.isArray(offer.tracks) ? (offer.tracks as { kind?: string }[]) : [];
            if (tracks.some((track) => track.kind === 'video')) resolveVideo();
          })
          .catch((error: unknown) => rejectVideo(error instanceof Error ? error : new Error(String(error))));
      });
    });
    const timer = setTimeout(() => rejectVideo(new Error(`Parley offered ${subscriber.name} no video within ${SUBSCRIBE_TIMEOUT_MS} ms`)), SUBSCRIBE_TIMEOUT_MS);
    try {
      await videoAnswered;
    } catch (error) {
      await socket.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return socket;
  }

  private async join(
    room: string,
    identity: string,
    grants: { canPublish: boolean; canSubscribe: boolean },
    beforeJoin: (signaling: ParleySignaling) => void = () => undefined,
  ): Promise<ParleySignaling> {
    const token = await createToken({ apiKey: API_KEY, apiSecret: this.apiSecret, room, identity, ttlSeconds: TOKEN_TTL_SECONDS, grants });
    const signaling = await ParleySignaling.open(this.wsUrl);
    beforeJoin(signaling);
    try {
      const joined = await signaling.request('join', { token, room, sdk: 'parley-bench', capabilities: { videoCodecs: ['vp8'] } });
      if (joined.type !== 'joined') throw new Error(`Parley answered join with ${joined.type}`);
    } catch (error) {
      await signaling.close();
      throw error;
    }
    return signaling;
  }

  /** Signaling on loopback; media on the host address, where the synthetic clients are. */
  private async serverConfig(): Promise<ServerConfigInput> {
    const generous = 100_000;
    return {
      host: '127.0.0.1',
      port: 0,
      dev: false,
      apiKeys: { [API_KEY]: this.apiSecret },
      logLevel: 'warn',
      rooms: { maxParticipants: 256, topology: 'sfu', videoCodecs: ['vp8'] },
      recording: { directory: this.recordingDirectory },
      // No TURN: the clients never relay, and a TURN server holding 3478 would keep a second
      // benchmark (`bench:sfu:compare` runs two at once) or a test server from starting.
      turn: { enabled: false },
      sfu: { workers: 1, bindAddress: this.host.address, udpPort: await freeUdpPort(this.host.address) },
      limits: {
        messagesPerSecond: generous,
        messageBurst: generous,
        connectionsPerIpPerMinute: generous,
        connectionBurstPerIp: generous,
        maxConnectionsPerIp: generous,
      },
    };
  }
}

function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, address, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function killIfRunning(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
