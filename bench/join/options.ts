import { parseArgs } from 'node:util';

export const CASE_NAMES = ['p2p', 'sfu-2', 'sfu-4', 'sfu-8', 'auto', 'sfu-2-firefox'] as const;
export type CaseName = (typeof CASE_NAMES)[number];

export interface CaseSpec {
  name: CaseName;
  /** The room's topology policy (`auto`: P2P while two, the newcomer is the third). */
  topology: 'p2p' | 'sfu' | 'auto';
  /** Participants once the newcomer is in. */
  size: number;
  newcomerBrowser: 'chromium' | 'firefox';
}

export const CASES: Readonly<Record<CaseName, CaseSpec>> = {
  p2p: { name: 'p2p', topology: 'p2p', size: 2, newcomerBrowser: 'chromium' },
  'sfu-2': { name: 'sfu-2', topology: 'sfu', size: 2, newcomerBrowser: 'chromium' },
  'sfu-4': { name: 'sfu-4', topology: 'sfu', size: 4, newcomerBrowser: 'chromium' },
  'sfu-8': { name: 'sfu-8', topology: 'sfu', size: 8, newcomerBrowser: 'chromium' },
  auto: { name: 'auto', topology: 'auto', size: 3, newcomerBrowser: 'chromium' },
  'sfu-2-firefox': { name: 'sfu-2-firefox', topology: 'sfu', size: 2, newcomerBrowser: 'firefox' },
};

export interface JoinOptions {
  runs: number;
  cases: CaseSpec[];
  /** A file to append each run's records to (JSON, one line a run), for a closer look. */
  records: string | undefined;
}

export const USAGE = `usage: npm run bench:join -- [options]

How long a join takes, both ways: a newcomer's connect() until the others decode (and show) its
first video frame, and until it decodes theirs; each step's median and p90, and the floor (two
RTCPeerConnections in one page, no server) measured in the same run, under the same load.
Real Chromium (and Firefox for sfu-2-firefox, the newcomer). Needs chromium and firefox-esr.

  --runs N        joins per case (default 5)
  --cases LIST    of ${CASE_NAMES.join(', ')}
                  (default: all). p2p: a room of 2; sfu-N: an SFU room of N with the newcomer;
                  auto: the third joining a P2P pair (the move to the SFU); sfu-2-firefox: a
                  Firefox newcomer and a Chromium in an SFU room
  --records FILE  append each run's records (pages' timelines and first-frame callbacks, the
                  SFU's timeline, the floor) to FILE, one JSON line a run; a failed run's
                  line has "failed" (why) and whatever was recorded by then
  --help          this text

A quick run: --runs 3 --cases p2p,sfu-4,auto (about 2 minutes).`;

export function parseJoinOptions(argv: string[]): JoinOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: 'string', default: '5' },
      cases: { type: 'string', default: CASE_NAMES.join(',') },
      records: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const runs = Number(values.runs.trim());
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error(`--runs must be a whole number from 1 to 100 (got ${JSON.stringify(values.runs)})`);
  const names = values.cases.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const unknown = names.filter((name) => !(CASE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--cases takes a comma-separated list of ${CASE_NAMES.join(', ')} (got ${JSON.stringify(values.cases)})`);
  return { runs, cases: [...new Set(names as CaseName[])].map((name) => CASES[name]), records: values.records };
}
