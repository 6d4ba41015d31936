import { startServer } from './src/index.ts';
const server = await startServer({ host: '127.0.0.1', port: 0, dev: false, apiKeys: { k: 's'.repeat(40) }, logLevel: 'warn', rooms: { topology: 'sfu' }, sfu: { workers: 1 }, turn: { enabled: false } } as never);
await new Promise((r) => setTimeout(r, 2000));
const t0 = process.cpuUsage(); const w0 = performance.now();
await new Promise((r) => setTimeout(r, 10_000));
const d = process.cpuUsage(t0);
console.log(`idle server: ${((d.user + d.system) / 1000).toFixed(1)} ms CPU over ${((performance.now() - w0) / 1000).toFixed(1)} s`);
await server.close(); process.exit(0);
