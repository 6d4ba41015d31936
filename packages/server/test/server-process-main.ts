// The process ServerProcess starts: a server with the JSON configuration in PARLEY_TEST_CONFIG.
import { silentLogger, startServer, type ServerConfigInput } from '../src/index.ts';

const config = JSON.parse(process.env.PARLEY_TEST_CONFIG ?? '{}') as ServerConfigInput;
const server = await startServer(config, { logger: silentLogger });
process.stdout.write(`READY ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
