/**
 * A webinar in an `mcu` room through the real server, SFU worker and mixer process, with 3
 * speakers and 50 listeners who are node-datachannel peers, not browsers (`webinar-room-main.ts`,
 * run as a child process: it says what it checks and why it is a child).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./webinar-room-main.ts', import.meta.url));

test('a webinar of 3 speakers and 50 listeners: every listener hears every speaker from one shared encode (4 encodes per tick in /metrics); a listener who publishes gets its own mix-minus within a second and the shared mix back after it unpublishes', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN], { env: { ...process.env, WEBINAR_LISTENERS: '50' }, timeout: 180_000, maxBuffer: 1 << 24 }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: out, stderr: err }),
    );
  });
  process.stdout.write(stdout);
  assert.equal(code, 0, `the webinar scenario failed:\n${stderr}`);
});
