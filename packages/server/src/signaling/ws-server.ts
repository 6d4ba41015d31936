import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, ErrorCode, versioned } from '@parley/protocol';
import { IpLimiter } from '../limits/ip-limiter.js';
import { clientIp } from '../http/client-ip.js';
import { SignalingSession, type SessionContext } from './session.js';
import { SIGNALING_PATH } from './paths.js';
import { RELAY_HEADER, verifyRelayHeader } from '../cluster/room-relay.js';

export { SIGNALING_PATH } from './paths.js';

export interface SignalingServer {
  readonly sessions: ReadonlySet<SignalingSession>;
  /** Asks every connection to reconnect (SERVER_SHUTDOWN, close 1001) but keeps accepting new ones. */
  shed(message: string): void;
  /**
   * Answers every later upgrade `503` (`Retry-After: 1`) before it becomes a WebSocket: a node
   * going away. A load balancer retries such a request on another node (deploy/haproxy:
   * `retry-on 503`), so a reconnect that reached this node before its health check failed lands
   * elsewhere at once instead of joining here and being shed again.
   */
  refuseNew(): void;
  close(): Promise<void>;
}

/** Accepts WebSocket upgrades on /ws, applies per-IP limits and runs a session per socket. */
export function attachSignaling(http: HttpServer, ctx: SessionContext): SignalingServer {
  const { limits } = ctx.config;
  // Frames up to 4x the limit are read so the session can answer MESSAGE_TOO_LARGE in words;
  // beyond that ws closes with 1009 before buffering them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes * 4, perMessageDeflate: false });
  const ipLimiter = new IpLimiter({ perMinute: limits.connectionsPerIpPerMinute, burst: limits.connectionBurstPerIp, maxConcurrent: limits.maxConnectionsPerIp });
  const sessions = new Set<SignalingSession>();
  const alive = new WeakMap<WebSocket, boolean>();
  let refusing = false;

  /**
   * Answers an upgrade with a plain HTTP response. The peer may be gone by then (a load balancer
   * giving up on a draining node): a write error on a socket nobody else listens on would be
   * thrown, and end the process with every call it still serves.
   */
  const refuse = (socket: Duplex, response: string) => {
    socket.on('error', () => undefined);
    socket.end(response);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path !== SIGNALING_PATH) {
      refuse(socket, 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (refusing) {
      const body = 'this node is going away: connect again';
      refuse(socket, `HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, request));
  };

  const onConnection = (ws: WebSocket, request: IncomingMessage) => {
    // Another node carrying a client here names the client: limits apply to it, not to that node.
    const relayed = ctx.routing ? verifyRelayHeader(request.headers[RELAY_HEADER] as string | undefined, ctx.routing.relaySecret) : { ok: false as const };
    const ip = relayed.ok ? relayed.clientIp : clientIp(request, ctx.config.behindTlsProxy);
    if (!relayed.ok && ctx.routing && !ctx.config.cluster.roles.includes('signaling')) {
      const message = 'this node only runs media: connect through a signaling node (the load balancer)';
      ws.send(JSON.stringify(versioned({ type: 'error', code: ErrorCode.PERMISSION_DENIED, message, fatal: true })));
      ws.close(CloseCode.POLICY_VIOLATION, message.slice(0, 120));
      return;
    }
    const admission = ipLimiter.admit(ip);
    if (!admission.ok) {
      ctx.metrics.rateLimitRefusals.inc({ limit: 'connection' });
      // Browsers cannot read an HTTP status of a refused upgrade: say why over the socket, then close.
      const message = admission.reason === 'rate' ? 'too many connections from your address: retry later' : 'too many open connections from your address';
      ws.send(JSON.stringify(versioned({ type: 'error', code: ErrorCode.RATE_LIMITED, message, fatal: true })));
      ws.close(CloseCode.POLICY_VIOLATION, message);
      ctx.logger.warn('connection refused', { ip, reason: admission.reason });
      return;
    }
    const session = new SignalingSession(ws, ctx, { ip, relayedBy: relayed.ok ? relayed.edgeNode : undefined });
    sessions.add(session);
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('close', () => {
      sessions.delete(session);
      admission.release();
    });
  };

  http.on('upgrade', onUpgrade);
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) ws.terminate();
      else {
        alive.set(ws, false);
        ws.ping();
      }
    }
    ipLimiter.sweep();
  }, ctx.config.heartbeatSeconds * 1000);
  heartbeat.unref();

  return {
    sessions,
    shed: (message) => {
      for (const session of sessions) session.fail(ErrorCode.SERVER_SHUTDOWN, message, CloseCode.GOING_AWAY);
    },
    refuseNew: () => {
      refusing = true;
    },
    close: async () => {
      clearInterval(heartbeat);
      http.off('upgrade', onUpgrade);
      for (const session of sessions) session.fail(ErrorCode.SERVER_SHUTDOWN, 'the server is shutting down', CloseCode.GOING_AWAY);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
