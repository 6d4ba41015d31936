// Runs a Parley server for the SFU benchmark in a process of its own (its SFU workers are its
// children), so that the benchmark can read exactly its CPU. Started by targets/parley.ts.
import { startServer, type ServerConfigInput } from '@parley/server';

const config = JSON.parse(process.env.PARLEY_BENCH_SERVER_CONFIG ?? 'null') as ServerConfigInput | null;
if (!config || !process.send) {
  console.error('parley-server.ts is started by the SFU benchmark (bench/sfu/run.ts), not directly');
  process.exit(2);
}

const server = await startServer(config);
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
process.send({ ready: true, wsUrl: server.wsUrl });
