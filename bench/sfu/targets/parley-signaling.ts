// A minimal Parley signaling client (docs/protocol.md) for the benchmark's synthetic peers:
// join, requests answered by `replyTo`, and events by type.
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '@parley/protocol';

export interface ServerMessage {
  type: string;
  replyTo?: string;
  [field: string]: unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class ParleySignaling {
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (message: ServerMessage) => void; reject: (error: Error) => void }>();
  private readonly handlers = new Map<string, (message: ServerMessage) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.onMessage(String(data)));
    socket.on('close', (code) => {
      for (const { reject } of this.pending.values()) reject(new Error(`signaling closed (${code})`));
      this.pending.clear();
    });
  }

  /** Opens the socket; `join` is left to the caller so event handlers can be set first. */
  static async open(wsUrl: string): Promise<ParleySignaling> {
    const socket = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new ParleySignaling(socket);
  }

  on(type: string, handler: (message: ServerMessage) => void): void {
    this.handlers.set(type, handler);
  }

  /** Sends a request and resolves with its reply; an `error` reply rejects with its code. */
  request(type: string, fields: Record<string, unknown> = {}): Promise<ServerMessage> {
    const id = `bench-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`Parley sent no reply to ${type} in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ v: PROTOCOL_VERSION, id, type, ...fields }));
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close(1000);
    await closed;
  }

  private onMessage(text: string): void {
    const message = JSON.parse(text) as ServerMessage;
    const waiter = message.replyTo === undefined ? undefined : this.pending.get(message.replyTo);
    if (waiter && message.replyTo !== undefined) {
      this.pending.delete(message.replyTo);
      if (message.type === 'error') waiter.reject(new Error(`Parley refused the request: ${String(message.code)}: ${String(message.message)}`));
      else waiter.resolve(message);
      return;
    }
    this.handlers.get(message.type)?.(message);
  }
}
