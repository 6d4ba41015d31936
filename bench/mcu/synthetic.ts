/**
 * `run.ts`'s side of the synthetic participants (`synthetic-main.ts`, a child process): start it,
 * wait until every one of them publishes, read their byte counters, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SyntheticConfig, SyntheticStats } from './synthetic-main.ts';

const MAIN = fileURLToPath(new URL('./synthetic-main.ts', import.meta.url));
/** What tells the process apart in /proc (run.ts leaves it out of the server's processes). */
export const SYNTHETIC_COMMAND = /synthetic-main\.ts/;

export class SyntheticParticipants {
  private readonly waiting: Array<(message: Record<string, unknown>) => void> = [];
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(`[synthetic] ${line}\n`);
        return;
      }
      this.waiting.shift()?.(message);
    });
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[synthetic] ${chunk.toString()}`));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts them and resolves once every camera and microphone is published and open. */
  static async start(config: SyntheticConfig, timeoutMs: number): Promise<SyntheticParticipants> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const group = new SyntheticParticipants(child);
    const first = await group.next(timeoutMs, `${config.participants.length} synthetic participants to publish`).catch(async (error: Error) => {
      await group.stop();
      throw error;
    });
    if (first.ready !== true) {
      await group.stop();
      throw new Error(`the synthetic participants could not join: ${String(first.failed ?? JSON.stringify(first))}`);
    }
    return group;
  }

  async stats(): Promise<SyntheticStats & { errors: string[] }> {
    const reply = this.next(10_000, 'the synthetic participants\' counters');
    this.child.stdin!.write('stats\n');
    const message = await reply;
    return { ...(message.stats as SyntheticStats), errors: (message.errors as string[] | undefined) ?? [] };
  }

  /** Asks it to close its peers and exit; SIGKILL (by its pid) if it has not within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end('stop\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  private next(timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const onExit = () => reject(new Error(`the synthetic participants' process exited while waiting for ${what}`));
      this.child.once('exit', onExit);
      this.waiting.push((message) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(message);
      });
    });
  }
}
