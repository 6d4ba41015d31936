/**
 * src/process/forked.ts with real child processes: small .ts entries written to a temp directory,
 * forked with the tsx loader as the SFU workers, mixers and recorders are.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exitOf, forkTs, listeningPort, stopChild, untilReady } from '../../src/process/forked.ts';

class StartError extends Error {
  constructor(
    message: string,
    readonly code: 'START_FAILED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'parley-forked-'));
function entry(name: string, source: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, source);
  return file;
}
const options = (timeoutMs = 10_000) => ({
  ready: listeningPort,
  timeoutMs,
  what: 'the child',
  error: (message: string, options?: { cause: unknown }) => new StartError(message, 'START_FAILED', options),
});

describe('forked children', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('untilReady answers the ready message’s value, other messages first are left alone; the child gets its env; stopChild ends it', async () => {
    const child = forkTs(entry('ready', `process.send!({ event: 'hello' }); process.send!({ event: 'listening', port: Number(process.env.PORT_FOR_TEST) }); setInterval(() => undefined, 1000);`), { PORT_FOR_TEST: '4242' });
    const port = await untilReady(child, options());
    assert.equal(port, 4242);
    const exited = exitOf(child);
    await stopChild(child, exited, 2000);
    assert.deepEqual(await exited, { code: null, signal: 'SIGTERM' });
  });

  test('a child that exits before it is ready: a coded error naming how it ended', async () => {
    const child = forkTs(entry('exits', `process.exit(3);`), {});
    await assert.rejects(untilReady(child, options()), (error: StartError) => error.code === 'START_FAILED' && /the child exited at start \(3\)/.test(error.message));
  });

  test('a child that never says it is ready: rejected at the timeout and killed (SIGKILL), not left running', async () => {
    const child = forkTs(entry('silent', `setInterval(() => undefined, 1000);`), {});
    const exited = exitOf(child);
    const started = Date.now();
    await assert.rejects(untilReady(child, options(1500)), (error: StartError) => error.code === 'START_FAILED' && /did not start within 1500 ms/.test(error.message));
    assert.ok(Date.now() - started >= 1500);
    assert.deepEqual(await exited, { code: null, signal: 'SIGKILL' });
  });

  test('messages sent to a child just killed (SIGKILL) while it still reads as connected: their EPIPE never throws out of the parent', async () => {
    const big = 'x'.repeat(20_000);
    let sent = 0;
    for (let round = 0; round < 5; round++) {
      const child = forkTs(entry('target', `process.on('message', () => undefined); process.send!({ event: 'listening', port: 1 }); setInterval(() => undefined, 1000);`), {});
      // Not untilReady, which has 'error' listeners of its own: the SFU workers are watched this way.
      await new Promise((resolve) => child.once('message', resolve));
      const exited = exitOf(child);
      child.kill('SIGKILL');
      // Without forkTs's own 'error' listener the first failed write is an uncaught exception
      // here, and node:test fails this test with it.
      while (child.connected) {
        child.send({ big });
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(await exited, { code: null, signal: 'SIGKILL' });
    }
    assert.ok(sent >= 5, `sent ${sent} messages to killed children`);
  });

  test('stopChild: a child that ignores SIGTERM is killed after the timeout', async () => {
    const child = forkTs(entry('stubborn', `process.on('SIGTERM', () => undefined); process.send!({ event: 'listening', port: 1 }); setInterval(() => undefined, 1000);`), {});
    await untilReady(child, options());
    const exited = exitOf(child);
    const started = Date.now();
    await stopChild(child, exited, 500);
    assert.ok(Date.now() - started >= 500, 'waited for SIGTERM first');
    assert.deepEqual(await exited, { code: null, signal: 'SIGKILL' });
  });
});
