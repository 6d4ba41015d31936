// Everything the benchmark starts (the SFU, client processes, temp dirs) registers its undo
// here, so that a failure, Ctrl-C or SIGTERM still leaves nothing behind.
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();

/** Registers an undo step; call the returned function once it has been done normally. */
export function onCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Runs every registered step (newest first), never throwing. */
export async function runCleanups(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      await cleanup();
    } catch (error) {
      console.error('cleanup failed:', error);
    }
  }
}

export function cleanUpOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping and cleaning up`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}
