/**
 * The server `heap.ts` measures: an in-process Parley server (no TLS, no HAProxy) in a child
 * started with --expose-gc. On each IPC message it collects garbage and answers its JavaScript
 * heap in use, so the figure is what the server holds, not what it has yet to collect.
 */
import { silentLogger, startServer } from '@parley/server';
import { API_KEY, API_SECRET } from './targets.ts';

const server = await startServer(
  {
    port: 0,
    apiKeys: { [API_KEY]: API_SECRET },
    rooms: { maxParticipants: 1000 },
    // Every client comes from 127.0.0.1: the per-address limits would refuse the benchmark.
    limits: { connectionsPerIpPerMinute: 10_000_000, connectionBurstPerIp: 1_000_000, maxConnectionsPerIp: 1_000_000 },
  },
  { logger: silentLogger },
);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('heap-server.ts needs node --expose-gc');
process.on('message', () => {
  collect();
  process.send!({ heapUsed: process.memoryUsage().heapUsed });
});
process.send!({ url: server.url });
