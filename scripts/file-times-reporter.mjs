// A node:test reporter that prints, when the run ends, the files that took longest: the wall time
// from a file's start (dequeued by the runner) to its last reported event. The suite has a budget (30 min on 2 cores, docs/testing.md): this says
// where the time goes in every CI log.
const SHOWN = 15;

export default async function* fileTimesReporter(source) {
  /** file -> [first event, last event] (ms, this process's clock). */
  const spans = new Map();
  for await (const event of source) {
    const file = event.data?.file;
    // Every file is enqueued when the run starts: its time starts when it is dequeued.
    if (!file || event.type === 'test:enqueue') continue;
    const now = Date.now();
    const span = spans.get(file);
    if (span) span[1] = now;
    else spans.set(file, [now, now]);
  }
  const rows = [...spans].map(([file, [first, last]]) => ({ file, seconds: (last - first) / 1000 })).sort((a, b) => b.seconds - a.seconds);
  if (rows.length === 0) return;
  const total = rows.reduce((sum, row) => sum + row.seconds, 0);
  yield `\nslowest test files (wall time from its start to its last result; ${rows.length} files, ${total.toFixed(0)} s in all):\n`;
  for (const row of rows.slice(0, SHOWN)) yield `${row.seconds.toFixed(1).padStart(8)} s  ${row.file.replace(`${process.cwd()}/`, '')}\n`;
}
