/**
 * A real Redis (Debian's redis-server, installed by scripts/system-packages.sh) on a free loopback
 * port, nothing persisted, for the cluster tests: started, killed with SIGKILL, started again on
 * the same port, or frozen (SIGSTOP) and thawed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

export class TestRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port, empty, and resolves once it answers PING. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    assert.equal(spawned, undefined, `redis-server runs (scripts/system-packages.sh installs it): ${spawned?.message}`);
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      assert.ok(Date.now() < deadline, 'redis-server answers PING within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGKILL: no goodbye to its clients, as a crashed or unplugged Redis. */
  async kill(): Promise<void> {
    this.thaw();
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * SIGSTOP: the process keeps its sockets open and the kernel keeps accepting connections, but
   * nothing answers, as a Redis cut off by the network (packets dropped, no RST) or hung.
   */
  freeze(): void {
    assert.ok(this.child?.pid !== undefined && this.child.exitCode === null, 'a running redis-server to freeze');
    process.kill(this.child.pid, 'SIGSTOP');
  }

  /** SIGCONT after freeze(): it answers again, with everything it held. */
  thaw(): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGCONT');
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port });
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
