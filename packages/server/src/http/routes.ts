import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import * as zm from 'zod/mini';
import { describeIssues, DisplayName, Grants, Identity, RoomConfig, RoomName } from '@parley/protocol';
import { createToken } from '../auth/token.js';
import { DEV_API_KEY, DEV_API_SECRET, type ServerConfig } from '../config/config.js';
import { IpLimiter } from '../limits/ip-limiter.js';
import { safeUrl, type Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { clientIp } from './client-ip.js';
import { createNetworkTestHandler } from './network-test.js';
import { StaticFiles } from './static-files.js';
import { metricsAccess } from '../metrics/metrics-access.js';
import type { ParleyMetrics } from '../metrics/metrics.js';

export interface HttpContext {
  config: ServerConfig;
  metrics: ParleyMetrics;
  rooms: RoomRegistry;
  logger: Logger;
  serverVersion: string;
  startedAt: number;
  cluster: { healthy: boolean; liveNodes: number; backendKind: string; state: 'serving' | 'draining' };
  /** `/api/rooms/{room}/recordings...` (recording/recording-http.ts): true when it answered. */
  recordingRoutes?: (request: IncomingMessage, response: ServerResponse, path: string) => Promise<boolean>;
}

const MAX_BODY_BYTES = 16 * 1024;
const MAX_DEV_TOKEN_TTL_SECONDS = 24 * 3600;

const DevTokenRequest = z
  .object({
    room: RoomName,
    identity: Identity,
    name: z.optional(DisplayName),
    ttlSeconds: z.number().int().positive().max(MAX_DEV_TOKEN_TTL_SECONDS).default(3600),
    grants: z.optional(zm.partial(Grants)),
    roomConfig: z.optional(RoomConfig),
  })
  .strict();

const securityHeaders: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // worker-src blob:: the SDK's recording compositor draws on a Worker's clock made from a Blob
  // URL (packages/client/src/recording/frame-clock.ts), which a hidden tab does not slow down.
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data: blob:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self)',
};

export function createRequestHandler(ctx: HttpContext): (request: IncomingMessage, response: ServerResponse) => void {
  const files = new StaticFiles();
  const devTokenLimiter = new IpLimiter({ perMinute: ctx.config.limits.devTokensPerIpPerMinute, burst: 20, maxConcurrent: Infinity });
  const networkTest = createNetworkTestHandler(ctx.config.limits.networkTestsPerIpPerMinute);
  const sweep = setInterval(() => {
    devTokenLimiter.sweep();
    networkTest.sweep();
  }, 60_000);
  sweep.unref();

  // HSTS only with a real certificate: pinning a LAN test host to a self-signed one would lock users out.
  const headers = ctx.config.tls.certFile === undefined ? securityHeaders : { ...securityHeaders, 'strict-transport-security': 'max-age=31536000' };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const route = `${request.method ?? 'GET'} ${path}`;
    // Draining: 503, so the load balancer sends no new connections here (docs/cluster.md).
    if (route === 'GET /healthz') return sendJson(response, ctx.cluster.state === 'draining' ? 503 : 200, health(ctx));
    if (route === 'GET /metrics') return serveMetrics(ctx, request, response);
    if (route === 'POST /api/dev/token') return handleDevToken(ctx, devTokenLimiter, request, response);
    if (await networkTest.handle(request, response, path, clientIp(request, ctx.config.behindTlsProxy))) return;
    if (ctx.recordingRoutes && (await ctx.recordingRoutes(request, response, path))) return;
    if (path.startsWith('/api/')) return sendError(response, 404, 'NOT_FOUND', `no API route ${route}`);
    if (request.method === 'GET' || request.method === 'HEAD') return files.serve(path, request, response);
    return sendError(response, 405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`);
  };

  return (request, response) => {
    const req = requestId(request);
    response.setHeader('x-request-id', req);
    handle(request, response).catch((error: unknown) => {
      ctx.logger.error('http request failed', { req, method: request.method, url: safeUrl(request.url), error });
      if (!response.headersSent) sendError(response, 500, 'INTERNAL', 'internal server error');
      else response.destroy();
    });
  };
}

/** The caller's X-Request-Id when it is a plain id (a proxy's), else a new one: echoed, and on log lines as `req`. */
function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : `RQ_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

async function serveMetrics(ctx: HttpContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const access = metricsAccess(request, ctx.config.metrics.token);
  if (!access.ok) return sendError(response, access.status, access.code, access.message);
  const { body, contentType } = await ctx.metrics.render();
  response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}

function health(ctx: HttpContext) {
  return {
    status: ctx.cluster.state === 'draining' ? 'draining' : 'ok',
    version: ctx.serverVersion,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    devMode: ctx.config.devMode,
    ...ctx.rooms.stats(),
    cluster: { backend: ctx.cluster.backendKind, healthy: ctx.cluster.healthy, nodes: ctx.cluster.liveNodes, state: ctx.cluster.state },
  };
}

async function handleDevToken(ctx: HttpContext, limiter: IpLimiter, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!ctx.config.devMode) return sendError(response, 404, 'DEV_MODE_OFF', 'dev tokens are off on this server: ask its operator for a token');
  if (!limiter.admit(clientIp(request, ctx.config.behindTlsProxy)).ok) return sendError(response, 429, 'RATE_LIMITED', 'too many token requests: retry later');
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    return sendError(response, 415, 'INVALID_MESSAGE', 'send the request body as application/json');
  }
  const body = await readBody(request, MAX_BODY_BYTES);
  if (body === undefined) return sendError(response, 413, 'MESSAGE_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return sendError(response, 400, 'MALFORMED_JSON', 'the request body is not valid JSON');
  }
  const parsed = DevTokenRequest.safeParse(json);
  if (!parsed.success) return sendError(response, 400, 'INVALID_MESSAGE', describeIssues(parsed.error));
  const { room, identity, name, ttlSeconds, grants, roomConfig } = parsed.data;
  const token = await createToken({
    apiKey: DEV_API_KEY,
    apiSecret: DEV_API_SECRET,
    room,
    identity,
    ttlSeconds,
    ...(name ? { name } : {}),
    ...(grants ? { grants } : {}),
    ...(roomConfig ? { roomConfig } : {}),
  });
  sendJson(response, 200, { token, ttlSeconds });
}

/** The body as text, or undefined as soon as it exceeds `limit` bytes (the rest is drained, not kept). */
export function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else resolve(undefined);
    });
    request.on('end', () => resolve(size <= limit ? Buffer.concat(chunks).toString('utf8') : undefined));
    request.on('error', reject);
  });
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

export function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { error: { code, message } });
}
