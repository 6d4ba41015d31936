/**
 * The bench's signaling clients: a WebSocket per participant (no media), a join, the reply's
 * latency, and the socket kept open until the case ends.
 */
import { PROTOCOL_VERSION } from '@parley/protocol';
import WebSocket from 'ws';

export interface JoinResult {
  ms: number;
  error?: string;
}

const JOIN_TIMEOUT_MS = 30_000;

/** Opens a socket, joins with `token`, resolves with the time to the reply; the socket stays open in `open`. */
export function joinOnce(wsUrl: string, token: string, open: WebSocket[]): Promise<JoinResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, { rejectUnauthorized: false });
    open.push(socket);
    const done = (error?: string) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => done('no reply within 30 s'), JOIN_TIMEOUT_MS);
    socket.once('open', () => socket.send(JSON.stringify({ v: PROTOCOL_VERSION, id: 'join', type: 'join', token })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; replyTo?: string; code?: string };
      if (message.replyTo !== 'join') return;
      done(message.type === 'joined' ? undefined : `${message.type} ${message.code ?? ''}`.trim());
    });
    socket.once('error', (error) => done(error.message));
    socket.once('close', (code) => done(`closed ${code}`));
  });
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function pooled<T>(tasks: ReadonlyArray<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}
