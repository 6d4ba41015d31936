// Runs Firefox inside a network namespace and makes its WebDriver BiDi server reachable from
// outside it. Firefox binds BiDi to the namespace's own loopback, which the test process (in the
// host namespace) cannot reach; unix sockets are not namespaced, so this script (started with
// `ip netns exec NS node netns-bidi-bridge.mjs SOCKET PORT FIREFOX ARGS...`) serves SOCKET and
// forwards it to Firefox's port, and prints Firefox's "WebDriver BiDi listening on ws://..." line
// (naming PORT, where the harness listens on the host's loopback and forwards to SOCKET) only
// once SOCKET is served, so the launcher never connects too early.
// The control connection thus never crosses the shaped veth link.
//
// Plain JavaScript (not TypeScript): it is executed directly by node inside the namespace.
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const [socketPath, publicPort, executable, ...args] = process.argv.slice(2);
if (!socketPath || !publicPort || !executable) {
  process.stderr.write('usage: netns-bidi-bridge.mjs SOCKET PORT FIREFOX [ARGS...]\n');
  process.exit(2);
}

const BIDI_LINE = /^WebDriver BiDi listening on ws:\/\/(\[[^\]]+\]|[^:/]+):(\d+)(.*)$/;

const firefox = spawn(executable, args, { stdio: ['inherit', 'inherit', 'pipe'] });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => firefox.kill(signal));
firefox.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
firefox.on('error', (error) => {
  process.stderr.write(`netns-bidi-bridge: cannot start ${executable}: ${error.message}\n`);
  process.exit(1);
});

createInterface({ input: firefox.stderr }).on('line', (line) => {
  const match = BIDI_LINE.exec(line);
  if (!match) return void process.stderr.write(`${line}\n`);
  const [, host, port, rest] = match;
  const server = createServer((client) => {
    const bidi = createConnection({ host: host.replace(/^\[|\]$/g, ''), port: Number(port) });
    client.pipe(bidi).pipe(client);
    client.on('error', () => bidi.destroy());
    bidi.on('error', () => client.destroy());
  });
  server.listen(socketPath, () => process.stderr.write(`WebDriver BiDi listening on ws://127.0.0.1:${publicPort}${rest}\n`));
});
