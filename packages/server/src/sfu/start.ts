import { availableParallelism } from 'node:os';
import type { ServerConfig } from '../config/config.js';
import { isLoopbackHost } from '../config/hosts.js';
import type { Logger } from '../logger.js';
import type { SfuService } from './sfu-service.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The UDP ports this node's SFU media uses: one per worker with the ICE mux (udpPort + i), else
 * the configured range. None on a signaling-only node. The built-in TURN relays to these.
 */
export function sfuMediaPorts(config: ServerConfig): { min: number; max: number }[] {
  if (!config.cluster.roles.includes('media')) return [];
  const { sfu } = config;
  if (!sfu.udpMux) return sfu.portRange ? [sfu.portRange] : [];
  return [{ min: sfu.udpPort, max: sfu.udpPort + workerCount(config) - 1 }];
}

/** Worker processes: as configured, else one per core. */
function workerCount(config: ServerConfig): number {
  return config.sfu.workers ?? availableParallelism();
}

/** Starts the SFU's worker processes as configured. */
export async function startSfu(config: ServerConfig, logger: Logger): Promise<SfuService> {
  const { sfu } = config;
  // A loopback signaling host still binds media to every interface: Firefox pairs none of its
  // candidates with a loopback server candidate, and the port answers only ICE checks carrying
  // credentials handed out over signaling.
  const anyInterface = config.host === '0.0.0.0' || config.host === '::' || isLoopbackHost(config.host);
  const startedAt = performance.now();
  const pool = await WorkerPool.start({
    workers: workerCount(config),
    bindAddress: sfu.bindAddress ?? (anyInterface ? undefined : config.host),
    udpPort: sfu.udpMux ? sfu.udpPort : undefined,
    portRange: sfu.udpMux ? undefined : sfu.portRange,
    announcedAddress: sfu.announcedAddress,
    requestTimeoutMs: sfu.requestTimeoutMs,
    logger,
    nodeId: config.nodeId,
  });
  logger.info('SFU started', { workers: pool.pids.length, udpPort: sfu.udpMux ? sfu.udpPort : undefined, startMs: Math.round(performance.now() - startedAt) });
  return pool;
}
