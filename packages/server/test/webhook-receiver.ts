/** A webhook receiver for tests (packages/server/test/webhooks/webhooks.test.ts, e2e/call-quality.test.ts). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookPayload } from '../src/index.ts';

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  payload: WebhookPayload;
  at: number;
}

/** A webhook receiver on a fixed port that can go down and come back, answering from a script. */
export class Receiver {
  readonly deliveries: Delivery[] = [];
  attempts = 0;
  /** Status codes to answer next, in order; 200 once it is empty. */
  readonly statuses: number[] = [];
  private server: Server | undefined;
  port = 0;

  async up(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.attempts += 1;
        const status = this.statuses.shift() ?? 200;
        const body = Buffer.concat(chunks).toString('utf8');
        if (status === 200) this.deliveries.push({ headers: request.headers, body, payload: JSON.parse(body) as WebhookPayload, at: Date.now() });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks?token=receiver-side-secret`;
  }

  events(): string[] {
    return this.deliveries.map(({ payload }) => `${payload.event}${'participant' in payload ? ` ${payload.participant.identity}` : ''}${'track' in payload ? ` ${payload.track.source}` : ''}`);
  }
}
