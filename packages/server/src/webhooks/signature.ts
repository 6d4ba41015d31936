import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
 * the scheme Stripe made familiar. The timestamp is inside the MAC, so a receiver that rejects
 * signatures older than a few minutes cannot be fed a captured request again later (replay), and
 * the body is the exact bytes sent, so nothing can be changed in transit. Receivers verify with
 * `verifyWebhook` (exported by @parley/server) or the three lines of any HMAC library.
 */
export const SIGNATURE_HEADER = 'parley-signature';
/** How old a signature a receiver accepts by default; retries are signed again when sent. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(body: string, secret: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

export type WebhookVerification = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/** Checks a `Parley-Signature` header against the raw body (as received, before any JSON parsing). */
export function verifyWebhook(body: string, header: string | undefined, secret: string, options: { nowMs?: number; toleranceSeconds?: number } = {}): WebhookVerification {
  const fields = new Map((header ?? '').split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]));
  const t = Number(fields.get('t'));
  const given = fields.get('v1');
  if (!Number.isSafeInteger(t) || given === undefined || !/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(Math.floor((options.nowMs ?? Date.now()) / 1000) - t) > tolerance) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(mac(secret, t, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex')) ? { ok: true, timestamp: t } : { ok: false, reason: 'mismatch' };
}

function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}
