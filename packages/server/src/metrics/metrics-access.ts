import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type MetricsAccess = { ok: true } | { ok: false; status: 401 | 404; code: string; message: string };

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Whether a request may read /metrics. Never public by default: with a configured token the
 * request must carry it (`Authorization: Bearer`, compared in constant time); without one only a
 * request from this machine's loopback that no proxy forwarded is answered (a proxy on the same
 * host would otherwise make a loopback-only endpoint public), and anyone else gets a 404 that
 * says how to turn it on.
 */
export function metricsAccess(request: IncomingMessage, token: string | undefined): MetricsAccess {
  if (token !== undefined) {
    const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const expected = Buffer.from(token);
    const actual = Buffer.from(given);
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return { ok: true };
    return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'GET /metrics needs Authorization: Bearer <the PARLEY_METRICS_TOKEN>' };
  }
  const forwarded = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  if (!forwarded && LOOPBACK.test(request.socket.remoteAddress ?? '')) return { ok: true };
  return { ok: false, status: 404, code: 'METRICS_OFF', message: 'metrics are served to this machine only: set PARLEY_METRICS_TOKEN to scrape them from elsewhere' };
}
