import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A Parley server in its own process (`server-process-main.ts`), so a test can SIGKILL it and
 * start it again on the same port, as a crash and a restart would.
 */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly exited: Promise<number | null>,
  ) {}

  static async start(config: Record<string, unknown>, timeoutMs = 20_000): Promise<ServerProcess> {
    const main = fileURLToPath(new URL('./server-process-main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, PARLEY_TEST_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the server process did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const match = /^READY (\S+)$/m.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server process exited (${code}) before it was ready: ${stderr}`));
      });
    });
    return new ServerProcess(child, url, exited);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** SIGKILL: no close, no flush, as a crash. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
