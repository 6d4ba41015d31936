import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, type ServerMessage } from '@parley/protocol';
import { createToken, DEV_API_KEY, DEV_API_SECRET, silentLogger, startServer, type RunningServer, type ServerConfigInput, type StartOptions } from '../src/index.ts';

export const TEST_KEY = 'test-key';
export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export function startTestServer(config: ServerConfigInput = {}, options: Omit<StartOptions, 'logger'> = {}): Promise<RunningServer> {
  // A dropped connection leaves at once unless a test asks for a grace period (signaling/resume.test.ts).
  // SFU workers start with the first SFU room, as on a single node, unless a test asks otherwise.
  return startServer({ port: 0, dev: false, apiKeys: { [TEST_KEY]: TEST_SECRET }, reconnectGraceSeconds: 0, turn: { enabled: false }, ...config, sfu: { startAtBoot: false, ...config.sfu } }, { ...options, logger: silentLogger });
}

export function token(room: string, identity: string, extra: { ttlSeconds?: number; grants?: Record<string, boolean>; secret?: string; key?: string } = {}): Promise<string> {
  return createToken({
    apiKey: extra.key ?? TEST_KEY,
    apiSecret: extra.secret ?? TEST_SECRET,
    room,
    identity,
    ttlSeconds: extra.ttlSeconds ?? 600,
    ...(extra.grants ? { grants: extra.grants } : {}),
  });
}

export { DEV_API_KEY, DEV_API_SECRET };

/** A raw protocol client: what a browser SDK would send, with helpers to await what comes back. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  /** Messages that came as binary frames: a browser gets a Blob for those, which the SDK does not read. */
  binaryFrames = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private nextId = 1;
  /** The TCP connection under the WebSocket, from its HTTP upgrade. */
  private socket: Duplex | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.once('upgrade', (response) => (this.socket = response.socket));
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames += 1;
      this.received.push(JSON.parse(String(data)) as ServerMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static async open(server: Pick<RunningServer, 'wsUrl'>): Promise<TestClient> {
    const ws = new WebSocket(server.wsUrl, { rejectUnauthorized: false });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  static async joined(server: Pick<RunningServer, 'wsUrl'>, room: string, identity: string, grants?: Record<string, boolean>): Promise<TestClient> {
    const client = await TestClient.open(server);
    const reply = await client.request({ type: 'join', token: await token(room, identity, grants ? { grants } : {}) });
    if (reply.type !== 'joined') throw new Error(`join failed: ${JSON.stringify(reply)}`);
    return client;
  }

  /** Stops reading the socket, like a frozen client: it never answers the server's pings. */
  freeze(): void {
    if (!this.socket) throw new Error('freeze() before the WebSocket opened');
    this.socket.pause();
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  send(message: Record<string, unknown>): string {
    const id = (message.id as string | undefined) ?? `r${this.nextId++}`;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id, ...message }));
    return id;
  }

  /** Sends a request and resolves with the reply (or error) that names its id. */
  async request(message: Record<string, unknown>, timeoutMs?: number): Promise<ServerMessage> {
    const id = this.send(message);
    return this.waitFor((m) => 'replyTo' in m && m.replyTo === id, `a reply to ${String(message.type)}`, timeoutMs);
  }

  /** Resolves with the first message (already received or coming) that matches. */
  async waitFor(match: (message: ServerMessage) => boolean, what: string, timeoutMs = 3000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.received).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

/** A UDP port free on 127.0.0.1 right now (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** The host's first non-loopback IPv4 address (where the SFU's candidates are; TURN tests relay from it). */
export function hostIpv4(): string {
  const address = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
  if (address === undefined) throw new Error('this test needs a non-loopback IPv4 interface');
  return address;
}
