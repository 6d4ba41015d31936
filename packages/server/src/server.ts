import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describeConfig, resolveConfig, type ServerConfig, type ServerConfigInput } from './config/config.js';
import { createRequestHandler, sendError, sendJson } from './http/routes.js';
import { loadTls } from './http/tls.js';
import { createLogger, resolveLogFormat, type Logger } from './logger.js';
import { WebhookSender } from './webhooks/webhook-sender.js';
import type { NodeAgent } from './cluster/node-agent.js';
import { createClusterAgent, relaySecret } from './cluster/start-cluster.js';
import { untilMediaMoved } from './cluster/drain.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { createRecordingRoutes } from './recording/recording-http.js';
import { RecordingService } from './recording/recording-service.js';
import type { RecordingStorage } from './recording/storage.js';
import { ServerRecordings } from './recording/tracks/server-recordings.js';
import { recordingEvent } from './recording/recording-events.js';
import { ParleyMetrics } from './metrics/metrics.js';
import { MediaCoordinator } from './sfu/media-coordinator.js';
import { startSfu } from './sfu/start.js';
import { attachSignaling, SIGNALING_PATH } from './signaling/ws-server.js';
import { startBuiltInTurn, type BuiltInTurn } from './turn/built-in-turn.js';
import { SERVER_VERSION } from './version.js';

export interface RunningServer {
  readonly config: ServerConfig;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Signaling URL, e.g. ws://127.0.0.1:8080/ws */
  readonly wsUrl: string;
  readonly port: number;
  readonly rooms: RoomRegistry;
  /** Rooms' SFU media; the worker processes start with the first SFU room. */
  readonly media: MediaCoordinator;
  /** The built-in STUN/TURN server (`turn.enabled`), with its metrics and URLs. */
  readonly turn: BuiltInTurn | undefined;
  /** What GET /metrics serves. */
  readonly metrics: ParleyMetrics;
  /** This node's cluster membership (a cluster of one without Redis). */
  readonly cluster: NodeAgent;
  /**
   * Moves this node's participants off (cluster mode): takes no new rooms, tells the load balancer
   * it is going (/healthz 503), forgets its rooms' placements so they are placed on other nodes,
   * and asks every connection to reconnect (SERVER_SHUTDOWN: the SDK reconnects through the load
   * balancer and joins the room again where it is placed now). Resolves true once no connection
   * is left and no SFU media reaches this node any more (the SDKs keep their media here until the
   * new node's shows frames: `cluster/drain.ts`), false after `timeoutMs`; then `close()`.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** Sends room events to `webhooks.urls`; undefined when none are configured. */
  readonly webhooks: WebhookSender | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Where recordings are kept; the local directory `recording.directory` by default. */
  recordingStorage?: RecordingStorage;
}

/** Starts HTTP(S) + WebSocket signaling on one port. Rejects with ConfigError on bad configuration. */
export async function startServer(input: ServerConfigInput, options: StartOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(input);
  const logger = (options.logger ?? createLogger({ level: config.logLevel, format: resolveLogFormat(config.logFormat) })).child({ node: config.nodeId });
  const tls = await loadTls(config.tls, config.host, config.turn.publicHost ? [config.turn.publicHost] : []);
  const rooms = new RoomRegistry(config.rooms);
  const mixVideo = config.mcu.video ? { ffmpegPath: config.recording.ffmpegPath, tiers: config.mcu.videoTiers.map((tier) => ({ ...tier })), maxGrids: config.mcu.maxGrids } : null;
  const media = new MediaCoordinator(rooms, () => startSfu(config, logger), logger, { mixVideo });
  // Credentials must work out of the box: without a configured secret the built-in server gets a
  // random one for this process (never logged; external TURN servers then need turnSecret set).
  const turnSecret = config.ice.turnSecret ?? (config.turn.enabled ? randomBytes(32).toString('base64url') : undefined);
  const turn = config.turn.enabled && turnSecret !== undefined ? await startBuiltInTurn(config, turnSecret, tls, logger) : undefined;
  const builtInTurn = turn && turnSecret !== undefined ? { urls: turn.urls, secret: turnSecret } : undefined;
  const webhooks = config.webhooks.secret !== undefined && config.webhooks.urls.length > 0 ? new WebhookSender({ urls: config.webhooks.urls, secret: config.webhooks.secret, nodeId: config.nodeId, logger }) : undefined;
  if (webhooks) rooms.onEvent((event) => webhooks.send(event));
  const cluster = await createClusterAgent(config, rooms, media, logger).catch(async (error: unknown) => {
    await turn?.server.close();
    throw error;
  });
  const metrics = new ParleyMetrics({ rooms, media, turn: turn?.server.metrics, turnAllocationQuota: config.turn.maxAllocations, webhooks, cluster });
  // With Redis, joins go to the node their room is placed on; a room that ends here is released.
  const routing = cluster.backendKind === 'redis' ? { nodeId: config.nodeId, relaySecret: relaySecret(config), placeRoom: (room: string) => cluster.placeRoom(room), suspect: (node: { id: string; url: string; startedAt?: number }) => cluster.suspect(node) } : undefined;
  if (routing) {
    rooms.onEvent((event) => event.event === 'room_finished' && cluster.releaseRoom(event.room.name));
    // Should this node die, the node that takes an `auto` room over starts it as it was here.
    media.onTopologyChanged((room, topology) => cluster.recordTopology(room.name, topology));
  }
  const recordings = new RecordingService({ settings: config.recording, rooms, logger, ...(options.recordingStorage ? { storage: options.recordingStorage } : {}) });
  // Before start(): a recording whose upload was lost is found failed while recovering.
  if (webhooks) recordings.onFinished((record) => webhooks.send(recordingEvent(record, rooms.get(record.room)?.topology)));
  // Unfinished uploads of the last run are armed again; a broken directory fails uploads, not the start.
  await recordings.start().catch((error: unknown) => logger.error('recordings: could not recover the directory', { error }));
  const serverRecordings = new ServerRecordings({
    service: recordings,
    // Tracks are recorded where the SFU receives them: a room with someone in it, on the SFU (an
    // `auto` room in P2P moves there) and kept there while the recording runs.
    holdSfu: async (name) => {
      const room = rooms.get(name);
      return room ? media.holdOnSfu(room) : undefined;
    },
    logger,
  });
  rooms.onEvent((event) => event.event === 'room_finished' && serverRecordings.roomFinished(event.room.name));
  // An SFU worker restart re-creates the room's media on a new worker: its recording follows it.
  media.onMediaRestored((room) => serverRecordings.mediaRestored(room));
  await serverRecordings.recover().catch((error: unknown) => logger.error('server recordings: could not recover the unfinished ones', { error }));
  const recordingRoutes = createRecordingRoutes({ service: recordings, serverRecordings, apiKeys: config.apiKeys, maxChunkBytes: config.recording.maxChunkBytes, sendError, sendJson });
  const recordingEvents = (room: string) => recordings.eventsFor(room);
  let drainDeadline: number | undefined;
  const drainingUntil = () => drainDeadline;
  const ctx = { config, rooms, media, metrics, logger, serverVersion: SERVER_VERSION, startedAt: Date.now(), builtInTurn, cluster, routing, recordingRoutes, recordingEvents, drainingUntil };
  // The SFU workers start now, beside the listening, on a media node that is to run them from the
  // start (`sfu.startAtBoot`: by default a cluster's media node, and `parley start`): rooms fail
  // over to a cluster node mid-call, and a worker's cold start (1.3-3 s here) would add to
  // everyone's gap. Never on a signaling-only node: it hosts no room.
  const sfuAtBoot = config.cluster.roles.includes('media') && (config.sfu.startAtBoot ?? routing !== undefined) ? media.service() : undefined;
  // A failure is the start's to report (cluster) or logged (below): not an unhandled rejection meanwhile.
  sfuAtBoot?.catch(() => undefined);
  const handler = createRequestHandler(ctx);
  const http: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  const signaling = attachSignaling(http, ctx);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await turn?.server.close();
    await cluster.stop();
    if (sfuAtBoot) await media.close().catch(() => undefined);
    throw error;
  });
  http.on('error', (error) => logger.error('http server error', { error }));
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  try {
    // A media node of a cluster registers, and so is given rooms, only once its SFU workers run:
    // registered first, a node restarted just before a drain took the drained room while its
    // workers were still starting (3.1 s on a loaded machine), and every rejoin waited for them
    // (e2e/cluster.test.ts: the first track from the new node 3.5-6 s after the drain began).
    if (sfuAtBoot && routing !== undefined) await sfuAtBoot;
    await cluster.start(config.cluster.advertiseUrl ?? url);
  } catch (error) {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await turn?.server.close();
    await cluster.stop();
    if (sfuAtBoot) await media.close().catch(() => undefined);
    throw error;
  }
  sfuAtBoot?.catch((error: unknown) => logger.error('could not start the SFU workers', { error }));
  logger.info('parley listening', { url, ...describeConfig(config), ...(tls?.fingerprint ? { certificateFingerprint: tls.fingerprint } : {}) });
  if (config.devMode) logger.warn('dev mode is on: anyone who can reach this server can mint tokens at POST /api/dev/token');

  return {
    config,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}${SIGNALING_PATH}`,
    port,
    rooms,
    media,
    turn,
    metrics,
    webhooks,
    cluster,
    drain: async (timeoutMs) => {
      const startedAt = Date.now();
      const deadline = startedAt + timeoutMs;
      // Memberships dropped from now on stay (with their media) until the drain's time is up.
      drainDeadline = deadline;
      await cluster.drain();
      const names = rooms.names();
      await Promise.all(names.map((name) => cluster.releaseRoomNow(name).catch(() => undefined)));
      logger.info('draining: moving participants off', { rooms: names.length, connections: signaling.sessions.size, timeoutMs });
      // New connections first: a reconnect that reaches this node before the load balancer's
      // health check takes it out is retried on another node (503), not joined here and shed again.
      signaling.refuseNew();
      signaling.shed('this node is going away: reconnect');
      while (signaling.sessions.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (signaling.sessions.size > 0) return false;
      // The SDKs' media stays on this node's SFU until their new node's shows frames (make before break).
      const moved = await untilMediaMoved(() => media.sfuStats(), deadline);
      logger.info(moved ? 'drained: no media left on this node' : 'drain timed out with media still flowing', { afterMs: Date.now() - startedAt });
      return moved;
    },
    close: async () => {
      await cluster.stop();
      await signaling.close();
      // Leaves and room_finished of the closing connections go out before the process ends.
      await webhooks?.close();
      // Recorders sync their files while the workers still run (exported at the next start).
      await serverRecordings.close();
      await media.close();
      await turn?.server.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await recordings.close();
    },
  };
}
