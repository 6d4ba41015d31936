/**
 * A loopback TCP proxy in front of a server that can stop delivering without telling anyone: while
 * `drop()` holds, it keeps every connection open (no RST, no FIN either way), accepts new ones and
 * reads and discards whatever either side sends, as a network that silently drops packets does;
 * `heal()` forwards again. `dropOpen()` silences only the connections open now, as a NAT that forgot
 * their mappings: new ones pass. A client notices such an outage only by a timeout of its own. It logs
 * each connection's requests and when the client closed it, so a test can tell when a request was
 * given up.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxyEvent {
  /** Date.now() */
  at: number;
  /** The connection's number, in accept order. */
  connection: number;
  kind: 'request' | 'client-closed';
  /** For `request`: its first line ("PATCH /api/... HTTP/1.1"); for a close, the last request seen on it. */
  line: string;
  /** Whether it happened while dropping. */
  dropping: boolean;
}

const REQUEST_LINE = /^(GET|HEAD|POST|PATCH|PUT|DELETE|OPTIONS) \S+ HTTP\/1\.1/;

export class SilentDropProxy {
  readonly events: ProxyEvent[] = [];
  private dropping = false;
  private readonly sockets = new Set<Socket>();
  /** Connections silenced by dropOpen(), by number. */
  private readonly silenced = new Set<number>();
  private readonly open = new Set<number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 (a free port) and forwards to `target` (http://host:port). */
  static async start(target: string): Promise<SilentDropProxy> {
    const { hostname, port } = new URL(target);
    let count = 0;
    let proxy: SilentDropProxy | undefined;
    const server = createServer((client) => {
      const connection = ++count;
      const upstream = connect({ host: hostname, port: Number(port) });
      proxy!.track(client, upstream, connection);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    proxy = new SilentDropProxy(server, address.port);
    return proxy;
  }

  /** The server's URL through the proxy. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** From now on nothing is delivered either way, and nothing is closed. */
  drop(): void {
    this.dropping = true;
  }

  /** The connections open now deliver nothing from now on (and are not closed); new ones pass. */
  dropOpen(): void {
    for (const connection of this.open) this.silenced.add(connection);
  }

  /** Delivers again (what was sent meanwhile is lost, as dropped packets are). */
  heal(): void {
    this.dropping = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(client: Socket, upstream: Socket, connection: number): void {
    this.sockets.add(client).add(upstream);
    this.open.add(connection);
    const dropping = () => this.dropping || this.silenced.has(connection);
    let lastRequest = '';
    client.on('data', (data: Buffer) => {
      const line = REQUEST_LINE.exec(data.subarray(0, 200).toString('latin1'))?.[0];
      if (line) {
        lastRequest = line;
        this.events.push({ at: Date.now(), connection, kind: 'request', line, dropping: dropping() });
      }
      if (!dropping()) upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!dropping()) client.write(data);
    });
    // A close while dropping would be a FIN or RST that never arrives: the other end is left
    // open (the server's end of an abandoned request stays until it times out on its own).
    client.on('close', () => {
      this.events.push({ at: Date.now(), connection, kind: 'client-closed', line: lastRequest, dropping: dropping() });
      this.sockets.delete(client);
      this.open.delete(connection);
      if (!dropping()) upstream.destroy();
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (!dropping()) client.destroy();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}
