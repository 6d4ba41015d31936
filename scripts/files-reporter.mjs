// A node:test reporter that writes one JSON object per line about whole files, for
// `scripts/reruns.mjs`: `{ "failed": path }` for every file with a failing test (the file-level
// failure of a file that crashed too), which it reruns if e2e; and when the run ends
// `{ "file": path, "seconds": s }` per file: the wall time from its start (dequeued by the
// runner) to its last reported event, printed as the slowest files so every CI log says where
// the suite's budget (30 min on 2 cores, docs/testing.md) goes.
export default async function* filesReporter(source) {
  const failed = new Set();
  /** file -> [start, last event] (ms, this process's clock). */
  const spans = new Map();
  for await (const event of source) {
    const file = event.data?.file;
    // Every file is enqueued when the run starts: its time starts when it is dequeued.
    if (!file || event.type === 'test:enqueue') continue;
    const now = Date.now();
    const span = spans.get(file);
    if (span) span[1] = now;
    else spans.set(file, [now, now]);
    if (event.type === 'test:fail' && !failed.has(file)) {
      failed.add(file);
      yield `${JSON.stringify({ failed: file })}\n`;
    }
  }
  for (const [file, [first, last]] of spans) yield `${JSON.stringify({ file, seconds: (last - first) / 1000 })}\n`;
}
