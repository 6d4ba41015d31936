/**
 * The mixer processes of a node's MCU rooms and SFU rooms with `mixed` receivers, one per room (a crash or a CPU spike in one room's
 * mix touches no other room): started when the room's media starts, restarted when one dies, and
 * attached to the room's SFU worker (`mix` request) each time, so the room's participants hear the
 * mix again without doing anything.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { SfuService } from '../sfu/sfu-service.js';
import { MixerProcess } from './mixer-process.js';
import type { MixerStats, MixerVideoSettings } from './mixer-main.js';

/**
 * A dead mixer is started again after this long, doubled after each failed start up to the
 * maximum: a mixer that cannot start (no memory, the worker restarting) is tried again for as long
 * as its room runs, never in a tight loop.
 */
const RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;

interface RoomEntry {
  readonly secret: string;
  process: Promise<MixerProcess> | undefined;
  stopped: boolean;
  /** Failed starts in a row since the mixer last ran attached. */
  failures: number;
  /** When the mixer that is being replaced died (for `lastRestartMs`). */
  diedAt: number | undefined;
  /** Listeners on the shared mix as its mixer last said (0 while none runs). */
  sharedListeners: number;
}

/** The node's mixers' counters, summed (the `parley_mcu_*` metrics). */
export interface MixersStats {
  /** Opus frames the mixers encoded (one per speaker and one for the shared mix, per 20 ms tick). */
  encodes: number;
  /** Mixer ticks, and those that ran more than a frame after their time. */
  ticks: number;
  lateTicks: number;
  /** Listeners on a shared mix now, over the rooms. */
  sharedListeners: number;
  restarts: number;
  /** Video grids drawn (each then encoded once for everyone who sees it). */
  gridDraws: number;
  /** Video decoders handed out: the spare started ahead (warm), or started on demand (cold); spares that died waiting. */
  warmDecoderStarts: number;
  coldDecoderStarts: number;
  spareDecoderDeaths: number;
}

export interface RoomMixersOptions {
  sfu: () => Promise<SfuService>;
  logger: Logger;
  /** The video grid the mixers make (null or absent: audio only). */
  video?: MixerVideoSettings | null;
}

export class RoomMixers {
  /** Mixers running attached again after one died or failed to start (a counter for metrics and tests). */
  restarts = 0;
  /** Milliseconds from the last death to the new mixer being attached to the worker. */
  lastRestartMs: number | undefined;
  private readonly rooms = new Map<string, RoomEntry>();
  /** Counters of every mixer that ran, kept here: a mixer's own die with it. */
  private readonly totals = { encodes: 0, ticks: 0, lateTicks: 0, gridDraws: 0, warmDecoderStarts: 0, coldDecoderStarts: 0, spareDecoderDeaths: 0 };
  private readonly sfu: () => Promise<SfuService>;
  private readonly logger: Logger;
  private readonly video: MixerVideoSettings | null;

  constructor(options: RoomMixersOptions) {
    this.sfu = options.sfu;
    this.logger = options.logger;
    this.video = options.video ?? null;
  }

  /** Starts the room's mixer and attaches it to the room's worker; idempotent. */
  async start(room: string): Promise<void> {
    let entry = this.rooms.get(room);
    if (entry) {
      await entry.process;
      return;
    }
    entry = { secret: randomBytes(24).toString('base64url'), process: undefined, stopped: false, failures: 0, diedAt: undefined, sharedListeners: 0 };
    this.rooms.set(room, entry);
    await this.launch(room, entry);
  }

  /** Attaches the running mixer to the room's worker again (the worker restarted and lost the connection). */
  async reattach(room: string): Promise<void> {
    const entry = this.rooms.get(room);
    // A mixer that failed to start has its retry scheduled; that one attaches itself.
    const mixer = await entry?.process?.catch(() => undefined);
    if (entry && mixer) await (await this.sfu()).request({ op: 'mix', room, port: mixer.port, secret: entry.secret });
  }

  /** The room's mixer process id (tests kill it to see it restart). */
  async pid(room: string): Promise<number | undefined> {
    return (await this.rooms.get(room)?.process?.catch(() => undefined))?.pid;
  }

  async stop(room: string): Promise<void> {
    const entry = this.rooms.get(room);
    if (!entry) return;
    entry.stopped = true;
    this.rooms.delete(room);
    const mixer = await entry.process?.catch(() => undefined);
    await mixer?.stop();
  }

  stats(): MixersStats {
    let sharedListeners = 0;
    for (const entry of this.rooms.values()) sharedListeners += entry.sharedListeners;
    return { ...this.totals, sharedListeners, restarts: this.restarts };
  }

  async close(): Promise<void> {
    await Promise.all([...this.rooms.keys()].map((room) => this.stop(room)));
  }

  /**
   * Starts a mixer and attaches it to the room's worker. On failure it rejects and a new attempt
   * is already scheduled: a mixer that did not start is retried; one that started but could not
   * be attached is ended, and its exit schedules the retry (never two mixers for one room).
   */
  private async launch(room: string, entry: RoomEntry): Promise<void> {
    const starting = MixerProcess.start(
      { room, secret: entry.secret, video: this.video },
      (error) => this.logger.warn('the MCU mixer reported a failure', { room, error }),
      (stats) => this.onStats(entry, stats),
    );
    entry.process = starting;
    let mixer: MixerProcess;
    try {
      mixer = await starting;
    } catch (error) {
      this.scheduleLaunch(room, entry);
      throw error;
    }
    void mixer.exited.then(({ code, signal }) => this.onExit(room, entry, code, signal));
    if (entry.stopped) return void mixer.stop();
    try {
      await (await this.sfu()).request({ op: 'mix', room, port: mixer.port, secret: entry.secret });
    } catch (error) {
      void mixer.stop();
      throw error;
    }
    entry.failures = 0;
    if (entry.diedAt !== undefined) {
      this.restarts += 1;
      this.lastRestartMs = performance.now() - entry.diedAt;
      entry.diedAt = undefined;
      this.logger.info('MCU mixer restarted', { room, ms: Math.round(this.lastRestartMs) });
    }
  }

  private onStats(entry: RoomEntry, stats: MixerStats): void {
    if (entry.stopped) return;
    this.totals.encodes += stats.encodes;
    this.totals.ticks += stats.ticks;
    this.totals.lateTicks += stats.lateTicks;
    this.totals.gridDraws += stats.gridDraws;
    this.totals.warmDecoderStarts += stats.warmDecoderStarts;
    this.totals.coldDecoderStarts += stats.coldDecoderStarts;
    this.totals.spareDecoderDeaths += stats.spareDecoderDeaths;
    entry.sharedListeners = stats.sharedListeners;
  }

  private onExit(room: string, entry: RoomEntry, code: number | null, signal: NodeJS.Signals | null): void {
    entry.sharedListeners = 0;
    if (entry.stopped) return;
    this.logger.error('MCU mixer died; restarting it', { room, code, signal });
    this.scheduleLaunch(room, entry);
  }

  private scheduleLaunch(room: string, entry: RoomEntry): void {
    if (entry.stopped) return;
    entry.diedAt ??= performance.now();
    const delay = Math.min(RESTART_DELAY_MS * 2 ** entry.failures, MAX_RESTART_DELAY_MS);
    entry.failures += 1;
    setTimeout(() => {
      if (entry.stopped) return;
      this.launch(room, entry).catch((error: unknown) => this.logger.error('the MCU mixer could not be restarted; trying again', { room, error, failures: entry.failures }));
    }, delay).unref();
  }
}
