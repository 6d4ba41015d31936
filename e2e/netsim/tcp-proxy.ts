/**
 * A TCP forwarder that can add one-way delay: every chunk read from one side is written to the
 * other `delayMs` later, in order. It gives HTTP and WebSocket traffic a round-trip time (the
 * kernel here has no netem); throughput limits come from tc on the link, not from here.
 * Memory is bounded: a side whose data is still waiting to be written is paused.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  listen: { host: string; port?: number };
  target: { host: string; port: number };
  /** Added in each direction, so a request/response round trip gains twice this. */
  delayMs?: number;
}

/** Bytes in flight inside the proxy, per direction, before it stops reading that side. */
const MAX_PENDING_BYTES = 1024 * 1024;

export class TcpProxy {
  /** Applies to data read from then on. */
  delayMs: number;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly options: TcpProxyOptions,
  ) {
    this.delayMs = options.delayMs ?? 0;
  }

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    // Half-open allowed, so each direction ends on its own, after its delayed data.
    const server = createServer({ allowHalfOpen: true });
    const proxy = new TcpProxy(server, options);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port ?? 0, options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get address(): { host: string; port: number } {
    const { address, port } = this.server.address() as AddressInfo;
    return { host: address, port };
  }

  /** `http://host:port`, for pages that reach the target through this proxy. */
  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ ...this.options.target, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      // Either side failing ends the pair: the other side sees a reset, as with a real broken path.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: Socket, to: Socket): void {
    let pending = 0;
    let chain = Promise.resolve();
    const deliver = (action: () => void) => {
      const due = Date.now() + this.delayMs;
      // Chained so chunks leave in the order they came, even if delayMs changes in between.
      chain = chain.then(() => waitUntil(due)).then(() => {
        if (!to.destroyed) action();
      });
    };
    from.on('data', (chunk: Buffer) => {
      pending += chunk.length;
      if (pending > MAX_PENDING_BYTES) from.pause();
      deliver(() => {
        pending -= chunk.length;
        if (!to.write(chunk)) from.pause();
        else if (pending <= MAX_PENDING_BYTES && from.isPaused()) from.resume();
      });
    });
    to.on('drain', () => {
      if (pending <= MAX_PENDING_BYTES && from.isPaused()) from.resume();
    });
    from.on('end', () => deliver(() => to.end()));
  }
}

function waitUntil(time: number): Promise<void> {
  const ms = time - Date.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
