/** The built-in TURN server alone, as the benchmark's measured process: prints `ready`, and its metrics on SIGTERM. */
import { silentLogger } from '../../packages/server/src/logger.ts';
import { TurnServer } from '../../packages/server/src/turn/turn-server.ts';

const [port, secret, minPort, maxPort] = process.argv.slice(2);
const server = await TurnServer.start({
  host: '127.0.0.1',
  port: Number(port),
  relayAddress: '127.0.0.1',
  relayPorts: { min: Number(minPort), max: Number(maxPort) },
  realm: 'bench',
  secret: secret!,
  allowedPeers: ['127.0.0.1/32'],
  deniedPeers: [],
  maxAllocations: 10_000,
  maxAllocationsPerUser: 10_000,
  bytesPerSecond: 0,
  logger: silentLogger,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  process.stdout.write(`metrics ${JSON.stringify(server.metrics.snapshot())}\n`);
  void server.close().then(() => process.exit(0));
});
