// A node:test reporter that writes the path of every file with a failing test, one per line (the
// file-level failure of a file that crashed too): `scripts/reruns.mjs` reruns e2e files from it.
export default async function* failedFilesReporter(source) {
  const files = new Set();
  for await (const event of source) {
    if (event.type === 'test:fail' && event.data.file && !files.has(event.data.file)) {
      files.add(event.data.file);
      yield `${event.data.file}\n`;
    }
  }
}
