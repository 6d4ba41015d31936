/**
 * The worker's own log lines: the same JSON shape as the node's (pino's, see ../../logger.ts) on
 * the stderr it shares with the node, with `sfuWorker` and `node` so a collector can tell them
 * apart. The worker logs only what fails; a whole pino instance per worker is not needed for that.
 */
const bindings = {
  pid: process.pid,
  node: process.env.PARLEY_NODE_ID,
  sfuWorker: process.env.PARLEY_SFU_WORKER_INDEX === undefined ? undefined : Number(process.env.PARLEY_SFU_WORKER_INDEX),
};

export function logWorkerError(message: string, error: unknown): void {
  const serialized = error instanceof Error ? { type: error.name, message: error.message, stack: error.stack } : { message: String(error) };
  process.stderr.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), ...bindings, msg: message, error: serialized })}\n`);
}
