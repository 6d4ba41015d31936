import { randomUUID } from 'node:crypto';
import { safeUrl, type Logger } from '../logger.js';
import type { RoomEvent } from '../rooms/room-events.js';
import { SIGNATURE_HEADER, signWebhook } from './signature.js';

/** What a receiver gets: the room event, with an id (to deduplicate retries), a time and the node. */
export type WebhookPayload = RoomEvent & { id: string; createdAt: number; node: string };

export interface WebhookSenderOptions {
  urls: readonly string[];
  secret: string;
  nodeId: string;
  logger: Logger;
  /** First retry delay; it doubles per failed attempt (±20 % jitter) up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** An event still undelivered this long after it happened is dropped (and counted). */
  maxAgeMs?: number;
  /** One POST's deadline, connection to answer. */
  timeoutMs?: number;
  /** Events waiting per URL; past it the oldest is dropped (and counted). */
  maxQueue?: number;
}

export interface WebhookStats {
  delivered: number;
  /** Attempts that failed (network error, timeout, non-2xx) and were retried or dropped. */
  failedAttempts: number;
  dropped: number;
  queued: number;
}

const DEFAULTS = { retryDelayMs: 1000, maxRetryDelayMs: 60_000, maxAgeMs: 3_600_000, timeoutMs: 5000, maxQueue: 10_000 };

/**
 * Sends room events to the configured URLs as signed POSTs. Each URL has its own queue, delivered
 * strictly in order (a receiver sees participant_joined before participant_left of the same
 * person): the head is retried with exponential backoff while the rest wait, so one slow
 * receiver never delays another. A failed attempt is signed again when retried (fresh timestamp).
 */
export class WebhookSender {
  private readonly endpoints: Endpoint[];
  private readonly counts = { delivered: 0, failedAttempts: 0, dropped: 0 };
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {
    const settings = { ...DEFAULTS, ...definedOnly(options) };
    this.endpoints = options.urls.map((url) => new Endpoint(url, settings, this.counts, options));
  }

  send(event: RoomEvent): void {
    if (this.closed || this.endpoints.length === 0) return;
    const payload: WebhookPayload = { ...event, id: `EV_${randomUUID().replaceAll('-', '').slice(0, 16)}`, createdAt: Date.now(), node: this.options.nodeId };
    for (const endpoint of this.endpoints) endpoint.push(payload);
  }

  stats(): WebhookStats {
    return { ...this.counts, queued: this.endpoints.reduce((sum, endpoint) => sum + endpoint.length, 0) };
  }

  /** Resolves once every queue is empty, or after `timeoutMs` (then false). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.stats().queued > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Gives queued events up to `drainMs` to go out, then stops; what is left is logged as lost. */
  async close(drainMs = 2000): Promise<void> {
    if (this.closed) return;
    await this.drained(drainMs);
    this.closed = true;
    const lost = this.stats().queued;
    for (const endpoint of this.endpoints) endpoint.stop();
    if (lost > 0) this.options.logger.warn('webhook events not delivered before shutdown', { lost });
  }
}

type Settings = typeof DEFAULTS;

class Endpoint {
  private readonly queue: WebhookPayload[] = [];
  private attempt = 0;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly controller = new AbortController();
  /** The URL as logged: no user info, credential-like query values replaced. */
  private readonly logUrl: string;

  constructor(
    readonly url: string,
    private readonly settings: Settings,
    private readonly counts: { delivered: number; failedAttempts: number; dropped: number },
    private readonly options: Pick<WebhookSenderOptions, 'secret' | 'logger'>,
  ) {
    const parsed = new URL(url);
    parsed.username = parsed.password = '';
    this.logUrl = safeUrl(parsed.href) ?? '';
  }

  get length(): number {
    return this.queue.length;
  }

  push(payload: WebhookPayload): void {
    if (this.queue.length >= this.settings.maxQueue) {
      const oldest = this.queue.shift()!;
      this.counts.dropped += 1;
      this.options.logger.error('webhook queue full: oldest event dropped', { url: this.logUrl, event: oldest.event, eventId: oldest.id, room: oldest.room.name });
    }
    this.queue.push(payload);
    if (!this.busy && this.timer === undefined) void this.deliverHead();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
    this.queue.length = 0;
  }

  private async deliverHead(): Promise<void> {
    const payload = this.queue[0];
    if (!payload || this.stopped) return;
    this.busy = true;
    const failure = await this.post(payload);
    this.busy = false;
    if (this.stopped) return;
    if (failure === undefined) {
      this.queue.shift();
      this.attempt = 0;
      this.counts.delivered += 1;
      return void this.deliverHead();
    }
    this.counts.failedAttempts += 1;
    this.attempt += 1;
    if (Date.now() - payload.createdAt >= this.settings.maxAgeMs) {
      this.queue.shift();
      this.attempt = 0;
      this.counts.dropped += 1;
      this.options.logger.error('webhook event dropped after retrying', { url: this.logUrl, event: payload.event, eventId: payload.id, room: payload.room.name, failure });
      return void this.deliverHead();
    }
    const backoff = Math.min(this.settings.maxRetryDelayMs, this.settings.retryDelayMs * 2 ** (this.attempt - 1));
    const delay = backoff * (0.8 + 0.4 * Math.random());
    this.options.logger.warn('webhook delivery failed; retrying', { url: this.logUrl, event: payload.event, eventId: payload.id, attempt: this.attempt, retryInMs: Math.round(delay), failure });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliverHead();
    }, delay);
  }

  /** Undefined when the receiver took it (2xx), else why not. */
  private async post(payload: WebhookPayload): Promise<string | undefined> {
    const body = JSON.stringify(payload);
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(body, this.options.secret), 'parley-webhook-id': payload.id },
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.settings.timeoutMs)]),
        redirect: 'error',
      });
      await response.body?.cancel();
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return cause ?? (error as Error).name ?? 'error';
    }
  }
}

function definedOnly(options: WebhookSenderOptions): Partial<Settings> {
  const picked: Partial<Settings> = {};
  for (const key of Object.keys(DEFAULTS) as Array<keyof Settings>) if (options[key] !== undefined) picked[key] = options[key];
  return picked;
}
