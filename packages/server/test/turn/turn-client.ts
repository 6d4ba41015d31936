/**
 * A small TURN client for tests, over UDP or a TCP/TLS stream: requests with long-term
 * credentials (following 401/438 challenges), indications, ChannelData, and what comes back.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readErrorCode, readXorAddress, writeXorAddress, type TransportAddress } from '../../src/turn/attributes.ts';
import { silentLogger } from '../../src/logger.ts';
import { restPassword } from '../../src/turn/credentials.ts';
import type { TurnServerOptions } from '../../src/turn/turn-server.ts';
import { StreamFramer } from '../../src/turn/framing.ts';
import { checkIntegrity, fingerprintMatches, longTermKey, seal } from '../../src/turn/integrity.ts';
import { Attr, decodeStun, StunClass, StunMethod, StunWriter, type StunMessage } from '../../src/turn/stun-message.ts';

export const SECRET = 'turn-test-secret-0123456789';
export const REALM = 'parley-test';

export function turnOptions(overrides: Partial<TurnServerOptions> = {}): TurnServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    relayAddress: '127.0.0.1',
    relayPorts: { min: 40000, max: 44999 },
    realm: REALM,
    secret: SECRET,
    allowedPeers: ['127.0.0.1/32'],
    deniedPeers: [],
    maxAllocations: 50,
    maxAllocationsPerUser: 5,
    bytesPerSecond: 0,
    logger: silentLogger,
    ...overrides,
  };
}

export interface Credentials {
  username: string;
  password: string;
}

export function restCredentials(secret: string, identity: string, ttlSeconds = 600, nowMs = Date.now()): Credentials {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${identity}`;
  return { username, password: restPassword(secret, username) };
}

type Attribute = (writer: StunWriter) => void;

export const attr = {
  lifetime: (seconds: number): Attribute => (w) => void w.uint32(Attr.Lifetime, seconds),
  transport: (protocol = 17): Attribute => (w) => void w.uint32(Attr.RequestedTransport, protocol << 24),
  family: (family: 4 | 6): Attribute => (w) => void w.uint32(Attr.RequestedAddressFamily, (family === 4 ? 1 : 2) << 24),
  peer: (peer: TransportAddress): Attribute => (w) => void writeXorAddress(w, Attr.XorPeerAddress, peer),
  channel: (number: number): Attribute => (w) => void w.uint32(Attr.ChannelNumber, number << 16),
  data: (data: Buffer): Attribute => (w) => void w.bytes(Attr.Data, data),
  raw: (type: number, value: Buffer): Attribute => (w) => void w.bytes(type, value),
};

export interface Received {
  stun: StunMessage[];
  channelData: Array<{ channel: number; data: Buffer }>;
}

export class TurnTestClient {
  readonly received: Received = { stun: [], channelData: [] };
  realm: string | undefined;
  nonce: string | undefined;
  /** A stream the server closed (e.g. after garbage). */
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly sendBytes: (bytes: Buffer) => void,
    private readonly closeTransport: () => void,
    readonly local: () => TransportAddress,
  ) {}

  static async udp(host: string, port: number): Promise<TurnTestClient> {
    const socket: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, host.includes(':') ? '::1' : '127.0.0.1', resolve));
    const client = new TurnTestClient(
      (bytes) => socket.send(bytes, port, host),
      () => socket.close(),
      () => ({ address: socket.address().address, port: socket.address().port, family: host.includes(':') ? 6 : 4 }),
    );
    socket.on('message', (message) => client.onBytes(message));
    return client;
  }

  static async stream(protocol: 'tcp' | 'tls', host: string, port: number): Promise<TurnTestClient> {
    const socket: TcpSocket = await new Promise((resolve, reject) => {
      const s = protocol === 'tcp' ? tcpConnect(port, host, () => resolve(s)) : tlsConnect({ port, host, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new TurnTestClient(
      (bytes) => void (socket.writable && socket.write(bytes)),
      () => socket.destroy(),
      () => ({ address: socket.localAddress ?? '', port: socket.localPort ?? 0, family: 4 }),
    );
    const framer = new StreamFramer();
    socket.on('error', () => undefined);
    socket.on('close', () => (client.closed = true));
    socket.on('data', (chunk: Buffer) => framer.push(chunk, (frame, channelData) => client.onBytes(Buffer.from(frame), channelData)));
    return client;
  }

  sendRaw(bytes: Buffer): void {
    this.sendBytes(bytes);
  }

  close(): void {
    this.closeTransport();
  }

  /** Sends a request (signed when credentials are given) and resolves with its response. */
  async request(method: number, attributes: Attribute[], credentials?: Credentials, transactionId = randomBytes(12)): Promise<StunMessage> {
    const writer = new StunWriter(method, StunClass.Request, transactionId);
    for (const add of attributes) add(writer);
    let key: Buffer | undefined;
    if (credentials && this.realm !== undefined && this.nonce !== undefined) {
      writer.text(Attr.Username, credentials.username).text(Attr.Realm, this.realm).text(Attr.Nonce, this.nonce);
      key = longTermKey(credentials.username, this.realm, credentials.password);
    }
    this.sendBytes(seal(writer, key));
    const response = await this.waitFor((m) => m.transactionId.equals(transactionId), `response to method ${method}`);
    if (response.cls === StunClass.ErrorResponse) {
      this.realm = response.text(Attr.Realm) ?? this.realm;
      this.nonce = response.text(Attr.Nonce) ?? this.nonce;
    }
    return response;
  }

  /** A request with credentials, answering the 401 challenge and a 438 stale nonce like a real client. */
  async authenticated(method: number, attributes: Attribute[], credentials: Credentials): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const signed = this.nonce !== undefined;
      const response = await this.request(method, attributes, signed ? credentials : undefined);
      const code = errorCode(response);
      if ((code === 401 && !signed) || code === 438) continue;
      return response;
    }
    throw new Error('the server kept challenging');
  }

  indication(method: number, attributes: Attribute[]): void {
    const writer = new StunWriter(method, StunClass.Indication, randomBytes(12));
    for (const add of attributes) add(writer);
    this.sendBytes(seal(writer, undefined));
  }

  channelData(channel: number, data: Buffer, padded = false): void {
    const padding = padded ? (4 - (data.length % 4)) % 4 : 0;
    const bytes = Buffer.alloc(4 + data.length + padding);
    bytes.writeUInt16BE(channel, 0);
    bytes.writeUInt16BE(data.length, 2);
    data.copy(bytes, 4);
    this.sendBytes(bytes);
  }

  async waitFor(match: (message: StunMessage) => boolean, what: string, timeoutMs = 3000): Promise<StunMessage> {
    const found = () => this.received.stun.find(match);
    await this.until(() => found() !== undefined, what, timeoutMs);
    return found()!;
  }

  async until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }

  private onBytes(bytes: Buffer, channelData = (bytes[0]! & 0xc0) === 0x40): void {
    if (channelData) {
      this.received.channelData.push({ channel: bytes.readUInt16BE(0), data: bytes.subarray(4, 4 + bytes.readUInt16BE(2)) });
    } else {
      const message = decodeStun(bytes);
      if (message && fingerprintMatches(message)) this.received.stun.push(message);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export function errorCode(message: StunMessage): number | undefined {
  return message.cls === StunClass.ErrorResponse ? readErrorCode(message)?.code : undefined;
}

export function integrityValid(message: StunMessage, credentials: Credentials, realm: string): boolean {
  return checkIntegrity(message, longTermKey(credentials.username, realm, credentials.password))?.valid === true;
}

export { Attr, StunMethod, StunClass, readXorAddress };
