/**
 * `npm run bench:turn`: relayed packets per CPU-second of Parley's built-in TURN server against
 * coturn, under the same load in the same run. The load is coturn's own turnutils_uclient (N
 * clients, channels over UDP) echoing through turnutils_peer on loopback; only the TURN server's
 * CPU is measured (utime + stime from /proc/<pid>/stat, all threads). A relayed packet is one
 * ChannelData to the peer or one back to the client: uclient's sent + received counts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECRET = 'bench-turn-secret-0123456789';
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 40);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1000);
const SIZE = Number(process.env.BENCH_SIZE ?? 200);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 5);
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

interface Result {
  name: string;
  relayed: number;
  lost: string;
  cpuSeconds: number;
  wallSeconds: number;
}

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

function cpuSeconds(pid: number): number {
  // Fields after the command name (which may contain spaces): utime is field 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${output.slice(-2000)}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${output.slice(-2000)}`)));
  });
}

function runLoad(turnPort: number, peerPort: number): Promise<{ relayed: number; lost: string }> {
  const args = ['-c', '-W', SECRET, '-u', 'bench', '-e', '127.0.0.1', '-r', String(peerPort), '-p', String(turnPort), '-m', String(CLIENTS), '-n', String(MESSAGES), '-l', String(SIZE), '-z', String(INTERVAL_MS), '127.0.0.1'];
  return new Promise((resolve, reject) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].pop();
      const lost = /Total lost packets (\d+ \([\d.]+%\))/.exec(output)?.[1] ?? '?';
      if (code !== 0 || !totals) return reject(new Error(`uclient failed (${code}): ${output.slice(-2000)}`));
      resolve({ relayed: Number(totals[1]) + Number(totals[2]), lost });
    });
  });
}

async function measure(name: string, server: ChildProcess, turnPort: number, peerPort: number): Promise<Result> {
  const pid = server.pid!;
  const cpuBefore = cpuSeconds(pid);
  const started = process.hrtime.bigint();
  const load = await runLoad(turnPort, peerPort);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, ...load, cpuSeconds: cpuSeconds(pid) - cpuBefore, wallSeconds };
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGTERM');
    setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000).unref();
  });
}

async function main(): Promise<void> {
  for (const tool of ['turnserver', 'turnutils_uclient', 'turnutils_peer']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is missing: apt-get install -y coturn`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-turn-'));
  const children: ChildProcess[] = [];
  try {
    const peerPort = await freePort();
    const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
    children.push(peer);

    const parleyPort = await freePort();
    const parleyScript = fileURLToPath(new URL('./parley-turn-server.ts', import.meta.url));
    const parley = spawn(process.execPath, ['--import', 'tsx', parleyScript, String(parleyPort), SECRET, '52000', '53999'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(parley);
    await waitForOutput(parley, /ready/, 'the built-in TURN server');

    const coturnPort = await freePort();
    writeFileSync(
      join(dir, 'turnserver.conf'),
      [
        `listening-ip=127.0.0.1`, `listening-port=${coturnPort}`, 'relay-ip=127.0.0.1', 'min-port=54000', 'max-port=55999',
        'use-auth-secret', `static-auth-secret=${SECRET}`, 'realm=bench', 'fingerprint', 'no-tls', 'no-dtls', 'no-cli',
        'allow-loopback-peers', `userdb=${join(dir, 'turndb.sqlite')}`, `pidfile=${join(dir, 'turnserver.pid')}`, 'log-file=stdout', 'simple-log',
      ].join('\n') + '\n',
    );
    const coturn = spawn('turnserver', ['-c', join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(coturn);
    await waitForOutput(coturn, /Total (UDP|General) servers|listener opened on/i, 'coturn');

    console.log(`load: turnutils_uclient -c -m ${CLIENTS} -n ${MESSAGES} -l ${SIZE} -z ${INTERVAL_MS} (UDP, channels) echoed by turnutils_peer, loopback`);
    const results = [await measure('parley', parley, parleyPort, peerPort), await measure('coturn', coturn, coturnPort, peerPort)];
    for (const r of results) {
      const perPacketUs = (r.cpuSeconds / r.relayed) * 1e6;
      console.log(
        `${r.name.padEnd(6)}  relayed ${r.relayed} packets in ${r.wallSeconds.toFixed(1)} s, lost ${r.lost}, CPU ${r.cpuSeconds.toFixed(2)} s: ` +
          `${Math.round(r.relayed / r.cpuSeconds)} packets per CPU-second, ${perPacketUs.toFixed(1)} µs CPU per packet`,
      );
    }
    const [p, c] = results as [Result, Result];
    console.log(`parley/coturn cpu-per-relayed-packet ratio: ${(p.cpuSeconds / p.relayed / (c.cpuSeconds / c.relayed)).toFixed(2)}`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
