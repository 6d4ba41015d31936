import { parseArgs } from 'node:util';

export const TARGET_NAMES = ['parley', 'janus'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface BenchOptions {
  subscriberCounts: number[];
  seconds: number;
  warmupSeconds: number;
  targets: TargetName[];
  packetsPerSecond: number;
  payloadBytes: number;
  subscribersPerProcess: number;
  /** Parley: each N also measured with a server (`tracks`) recording of the room running. */
  record: boolean;
}

export const USAGE = `usage: npm run bench:sfu -- [options]

  --n LIST                    subscriber counts, comma-separated (default 1,5,10,20)
  --seconds S                 measuring window per N, after the warm-up (default 10)
  --warmup S                  warm-up before each window (default 3)
  --target both|parley|janus  which SFUs to measure (default both)
  --rate P                    packets per second from the publisher (default 1000)
  --payload B                 RTP payload bytes per packet (default 1200)
  --subscribers-per-process K synthetic subscribers per client process (default 10)
  --record                    Parley: measure each N twice in a row, without and with a server
                              (tracks) recording of the room running, and print the difference
  --help                      this text`;

/** Parses the command line; throws an Error whose message says what is wrong. */
export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      n: { type: 'string', default: '1,5,10,20' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      target: { type: 'string', default: 'both' },
      rate: { type: 'string', default: '1000' },
      payload: { type: 'string', default: '1200' },
      'subscribers-per-process': { type: 'string', default: '10' },
      record: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    subscriberCounts: values.n.split(',').map((part) => integer('--n', part, 1, 200)),
    seconds: number('--seconds', values.seconds, 1, 600),
    warmupSeconds: number('--warmup', values.warmup, 0, 120),
    targets: targets(values.target),
    packetsPerSecond: integer('--rate', values.rate, 25, 20_000),
    payloadBytes: integer('--payload', values.payload, 16, 1400),
    subscribersPerProcess: integer('--subscribers-per-process', values['subscribers-per-process'], 1, 200),
    record: values.record,
  };
}

function targets(value: string): TargetName[] {
  if (value === 'both') return [...TARGET_NAMES];
  if ((TARGET_NAMES as readonly string[]).includes(value)) return [value as TargetName];
  throw new Error(`--target must be both, parley or janus (got ${JSON.stringify(value)})`);
}

function number(flag: string, text: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  }
  return value;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = number(flag, text, min, max);
  if (!Number.isInteger(value)) throw new Error(`${flag} must be a whole number (got ${JSON.stringify(text)})`);
  return value;
}
