import { parseArgs } from 'node:util';

export interface SignalingOptions {
  /** Participants per case, all held open until the case's memory is read. */
  participants: number;
  roomSizes: number[];
  nodeCounts: Array<1 | 2>;
  /** Joins in flight at once. */
  concurrency: number;
}

export const USAGE = `usage: npm run bench:signaling -- [options]

Joins through HAProxy (as shipped in deploy/haproxy, TLS) onto 1 and onto 2 Parley nodes sharing a
Redis, and onto a bare \`ws\` server behind the same HAProxy in the same run: WebSocket clients
without media send a join and wait for the reply, and stay connected. Reports join latency
(p50/p99, from opening the socket to the reply), joins per second, and server memory per
participant (RSS of the server processes, SFU workers included, after all joined, minus before)
against the bare server's.

  --participants N   per case (default 2000; 10000 needs ulimit -n above 2.5x that)
  --room-sizes LIST  participants per room (default 2,50)
  --nodes LIST       Parley nodes behind the proxy, of 1,2 (default 1,2)
  --concurrency N    joins in flight (default 100)
  --help             this text`;

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  return value;
}

export function parseSignalingOptions(argv: string[]): SignalingOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      participants: { type: 'string', default: '2000' },
      'room-sizes': { type: 'string', default: '2,50' },
      nodes: { type: 'string', default: '1,2' },
      concurrency: { type: 'string', default: '100' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const participants = wholeNumber('participants', values.participants, 2, 20_000);
  const list = (name: string, text: string) => text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const roomSizes = list('room-sizes', values['room-sizes']).map((part) => wholeNumber('room-sizes', part, 2, 100));
  if (roomSizes.length === 0) throw new Error('--room-sizes needs at least one size');
  const nodeCounts = list('nodes', values.nodes).map((part) => wholeNumber('nodes', part, 1, 2) as 1 | 2);
  if (nodeCounts.length === 0) throw new Error('--nodes needs 1, 2 or both');
  const concurrency = wholeNumber('concurrency', values.concurrency, 1, 1000);
  return { participants, roomSizes, nodeCounts, concurrency };
}
