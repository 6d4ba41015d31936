import { parseArgs } from 'node:util';
import type { Direction, Topology } from './figures.ts';
import { QUALITY_PROFILES, type QualityProfile } from './profiles.ts';

export interface QualityOptions {
  windowSeconds: number;
  rampupSeconds: number;
  /** One line per freeze: what the receiver's and the SFU's counters did around it. */
  trace: boolean;
  profiles: QualityProfile[];
  directions: Direction[];
  topologies: Topology[];
}

export const USAGE = `usage: npm run bench:quality -- [options]

Video freezes on a shaped link, Parley's SFU and a direct (P2P) call side by side: one Chromium
on the host, one inside a netsim namespace whose link is shaped. Needs root, chromium, nftables.

  --window S          measurement window per case, seconds (default 60)
  --rampup S          time on the shaped link before the window, seconds (default 15)
  --profiles LIST     of slow-3g, lossy, step (default slow-3g,lossy,step)
  --directions LIST   of uplink (the shaped side publishes), downlink (it receives)
                      (default uplink,downlink)
  --topologies LIST   of sfu, p2p (default sfu,p2p)
  --trace             after each case, one line per freeze: what the receiver's counters (packets
                      lost, keyframes, PLIs) and the SFU's (layer switches, keyframe requests,
                      resends, NACKs to the publisher, collapses) did from 300 ms before it
  --help              this text

A case takes about rampup + window + 15 s; all cases: directions x profiles x topologies.`;

/** Parses the command line; throws an Error whose message says what is wrong. */
export function parseQualityOptions(argv: string[]): QualityOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      window: { type: 'string', default: '60' },
      rampup: { type: 'string', default: '15' },
      profiles: { type: 'string', default: QUALITY_PROFILES.join(',') },
      directions: { type: 'string', default: 'uplink,downlink' },
      topologies: { type: 'string', default: 'sfu,p2p' },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    windowSeconds: seconds('--window', values.window, 3, 600),
    rampupSeconds: seconds('--rampup', values.rampup, 0, 300),
    profiles: list('--profiles', values.profiles, QUALITY_PROFILES),
    directions: list('--directions', values.directions, ['uplink', 'downlink'] as const),
    topologies: list('--topologies', values.topologies, ['sfu', 'p2p'] as const),
    trace: values.trace,
  };
}

function seconds(flag: string, text: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${flag} must be a number of seconds from ${min} to ${max} (got ${JSON.stringify(text)})`);
  }
  return value;
}

/** A comma-separated list of known names, in the order given, without repeats. */
function list<T extends string>(flag: string, text: string, known: readonly T[]): T[] {
  const names = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const unknown = names.filter((name) => !(known as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`${flag} takes a comma-separated list of ${known.join(', ')} (got ${JSON.stringify(text)})`);
  }
  return [...new Set(names as T[])];
}
