/**
 * Packet captures for the e2e tests (Debian's `tshark` package: `dumpcap` captures, `tshark`
 * decodes). A capture runs `dumpcap` on one interface with a kernel capture filter, bounded in
 * time and size by dumpcap itself (`-a duration:`, `-a filesize:`) in case the test never stops
 * it; `stop()` ends it by its PID (SIGTERM, then SIGKILL after 10 s) and `dispose()` removes the file.
 * Capturing needs root or dumpcap's capabilities (the tests run as root).
 *
 * What the media captures are analysed for lives in `capture-analysis.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseFields } from './capture-analysis.ts';

export interface CaptureOptions {
  /** `lo` for loopback; traffic to the host's own addresses also crosses `lo` on Linux. */
  interface: string;
  /** A pcap (BPF) capture filter, e.g. `udp port 7882`. */
  filter: string;
  /** dumpcap stops by itself after this long, whatever the test does. */
  maxSeconds?: number;
  /** ... or once the file holds this much. */
  maxKilobytes?: number;
}

export interface DecodeOptions {
  /** `tshark -d` rules, e.g. `udp.port==3479,stun` (TURN on a port Wireshark does not know). */
  decodeAs?: string[];
  /** Heuristic dissectors to turn on, e.g. `rtp_udp`, `rtp_stun`, `dtls_stun`. */
  heuristics?: string[];
  /**
   * Two passes (`tshark -2`): fields known only once the whole file is read are set, e.g.
   * `tcp.reassembled_in` on the earlier segments of a TLS record that spans several.
   */
  twoPass?: boolean;
}

const TSHARK = process.env.PARLEY_TSHARK ?? 'tshark';
const DUMPCAP = process.env.PARLEY_DUMPCAP ?? 'dumpcap';

export class PacketCapture {
  private exited: Promise<void>;
  private stopped = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly directory: string,
    readonly file: string,
    private readonly stderr: () => string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Starts dumpcap and resolves once it captures (it says so on stderr). */
  static async start(options: CaptureOptions): Promise<PacketCapture> {
    const directory = await mkdtemp(join(tmpdir(), 'parley-capture-'));
    const file = join(directory, 'capture.pcapng');
    const args = ['-q', '-i', options.interface, '-f', options.filter, '-w', file, '-a', `duration:${options.maxSeconds ?? 60}`, '-a', `filesize:${options.maxKilobytes ?? 200_000}`];
    const child = spawn(DUMPCAP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    const capture = new PacketCapture(child, directory, file, () => stderr);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`dumpcap did not start capturing within 10 s: ${stderr}`)), 10_000);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(new Error(`${DUMPCAP} cannot run (Debian's tshark package installs it; scripts/system-packages.sh): ${error.message}`));
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`dumpcap exited (${code}) before capturing: ${stderr}`));
        });
        child.stderr!.on('data', (chunk: string) => {
          stderr += chunk;
          if (/Capturing on/.test(stderr)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } catch (error) {
      await capture.dispose();
      throw error;
    }
    return capture;
  }

  /** Ends the capture (SIGTERM by PID, SIGKILL after 10 s) and resolves once dumpcap has exited and flushed the file. */
  async stop(): Promise<void> {
    if (this.stopped) return this.exited;
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      process.kill(this.child.pid, 'SIGTERM');
      const killer = setTimeout(() => this.child.pid !== undefined && this.child.exitCode === null && process.kill(this.child.pid, 'SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(killer);
    }
    if (!/Packets captured|Packets:/.test(this.stderr()) && this.child.exitCode !== 0 && this.child.signalCode === null) {
      throw new Error(`dumpcap failed: ${this.stderr()}`);
    }
  }

  /**
   * How dumpcap ended and what it says it captured and dropped (its last stderr lines): a file
   * that holds less than the test expects is explained by this, or is not dumpcap's doing.
   */
  summary(): string {
    const lines = this.stderr().split('\n').filter((line) => /Packets/.test(line)).join('; ');
    return `dumpcap ${this.child.signalCode ?? `exit ${this.child.exitCode}`}: ${lines || 'no packet counts'}`;
  }

  /** The captured file's bytes (every packet verbatim), e.g. to search for a string sent in the clear. */
  async bytes(): Promise<Buffer> {
    await this.stop();
    return readFile(this.file);
  }

  /**
   * `tshark -r <file> -Y <displayFilter> -T fields -e ...`: one array of field values per packet
   * (a field with several occurrences in a packet comes comma-separated).
   */
  async fields(displayFilter: string, fields: string[], decode: DecodeOptions = {}): Promise<string[][]> {
    const text = await this.tshark([
      ...(decode.twoPass ? ['-2'] : []),
      ...(decode.decodeAs ?? []).flatMap((rule) => ['-d', rule]),
      ...(decode.heuristics ?? []).flatMap((name) => ['--enable-heuristic', name]),
      '-Y',
      displayFilter,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=a',
      ...fields.flatMap((field) => ['-e', field]),
    ]);
    return parseFields(text);
  }

  /** How many packets match `displayFilter`. */
  async count(displayFilter: string, decode: DecodeOptions = {}): Promise<number> {
    return (await this.fields(displayFilter, ['frame.number'], decode)).length;
  }

  /** Stops the capture if it still runs and removes its file (first copied into `PARLEY_E2E_KEEP_CAPTURES=<dir>` when set, to look at it). */
  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    const keep = process.env.PARLEY_E2E_KEEP_CAPTURES;
    if (keep) await copyFile(this.file, join(keep, `${basename(this.directory)}.pcapng`)).catch(() => undefined);
    await rm(this.directory, { recursive: true, force: true });
  }

  private async tshark(args: string[]): Promise<string> {
    await this.stop();
    const child = spawn(TSHARK, ['-r', this.file, '-n', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`${TSHARK} cannot run (Debian's tshark package; scripts/system-packages.sh): ${error.message}`)));
      child.once('close', (exitCode) => resolve(exitCode));
    });
    clearTimeout(timer);
    if (code !== 0) throw new Error(`tshark ${args.join(' ')} exited ${code}: ${err.slice(0, 2000)}`);
    return Buffer.concat(out).toString('utf8');
  }
}
