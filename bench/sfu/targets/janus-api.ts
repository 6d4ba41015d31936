// A minimal client for the Janus HTTP API (one session, long-polled events), enough to drive
// the videoroom plugin: https://janus.conf.meetecho.com/docs/rest.html
import { randomUUID } from 'node:crypto';

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
  trickle?: boolean;
}

export interface PluginEvent {
  data: Record<string, unknown>;
  jsep?: Jsep;
}

interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: Jsep;
}

const EVENT_TIMEOUT_MS = 15_000;

export class JanusSession {
  private readonly waiting = new Map<string, { resolve: (message: JanusMessage) => void; reject: (error: Error) => void }>();
  private polling = true;
  private pollLoop: Promise<void> = Promise.resolve();

  private constructor(private readonly sessionUrl: string) {}

  static async create(baseUrl: string): Promise<JanusSession> {
    const created = await post(baseUrl, { janus: 'create' });
    const session = new JanusSession(`${baseUrl}/${created.data!.id}`);
    session.pollLoop = session.poll();
    return session;
  }

  async attachVideoRoom(): Promise<JanusHandle> {
    const attached = await post(this.sessionUrl, { janus: 'attach', plugin: 'janus.plugin.videoroom' });
    return new JanusHandle(this, `${this.sessionUrl}/${attached.data!.id}`);
  }

  /** Registers interest in the event answering `transaction` before the request is sent. */
  awaitEvent(transaction: string): Promise<JanusMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(transaction);
        reject(new Error(`Janus sent no event for transaction ${transaction} in ${EVENT_TIMEOUT_MS} ms`));
      }, EVENT_TIMEOUT_MS);
      this.waiting.set(transaction, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  async destroy(): Promise<void> {
    this.polling = false;
    await post(this.sessionUrl, { janus: 'destroy' }).catch(() => undefined);
    await this.pollLoop;
    for (const { reject } of this.waiting.values()) reject(new Error('Janus session destroyed'));
    this.waiting.clear();
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      let messages: JanusMessage[];
      try {
        const response = await fetch(`${this.sessionUrl}?maxev=10&rid=${Date.now()}`);
        const body = (await response.json()) as JanusMessage | JanusMessage[];
        messages = Array.isArray(body) ? body : [body];
      } catch (error) {
        if (!this.polling) return;
        for (const { reject } of this.waiting.values()) reject(new Error(`Janus event poll failed: ${String(error)}`));
        this.waiting.clear();
        return;
      }
      for (const message of messages) this.dispatch(message);
    }
  }

  private dispatch(message: JanusMessage): void {
    if (message.janus !== 'event' || !message.transaction) return;
    const waiter = this.waiting.get(message.transaction);
    if (!waiter) return;
    this.waiting.delete(message.transaction);
    waiter.resolve(message);
  }
}

export class JanusHandle {
  constructor(
    private readonly session: JanusSession,
    private readonly handleUrl: string,
  ) {}

  /** A request the plugin answers at once (create, destroy, list...). */
  async request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await post(this.handleUrl, { janus: 'message', body });
    return pluginData(reply, body);
  }

  /** A request the plugin acknowledges and answers later with an event (join, publish, start). */
  async send(body: Record<string, unknown>, jsep?: Jsep): Promise<PluginEvent> {
    const transaction = randomUUID();
    const event = this.session.awaitEvent(transaction);
    const ack = await post(this.handleUrl, { janus: 'message', body, ...(jsep ? { jsep } : {}) }, transaction);
    if (ack.janus === 'event') return { data: pluginData(ack, body), ...(ack.jsep ? { jsep: ack.jsep } : {}) };
    const message = await event;
    return { data: pluginData(message, body), ...(message.jsep ? { jsep: message.jsep } : {}) };
  }
}

function pluginData(message: JanusMessage, body: Record<string, unknown>): Record<string, unknown> {
  const data = message.plugindata?.data;
  if (!data) throw new Error(`Janus answered ${JSON.stringify(body)} without plugin data: ${JSON.stringify(message)}`);
  if (data.error_code !== undefined) throw new Error(`Janus videoroom refused ${String(body.request)}: ${String(data.error)}`);
  return data;
}

async function post(url: string, message: Record<string, unknown>, transaction: string = randomUUID()): Promise<JanusMessage> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...message, transaction }),
  });
  const reply = (await response.json()) as JanusMessage;
  if (reply.janus === 'error') throw new Error(`Janus refused ${message.janus}: ${reply.error?.reason ?? 'unknown error'}`);
  return reply;
}
