import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { RoomMixers } from '../../src/mcu/room-mixers.ts';
import type { SfuService } from '../../src/sfu/sfu-service.ts';

test('a room mixer SIGKILLed is restarted and attached to the worker again (a new port, the same secret); a stopped one is not', async () => {
  const attached: Array<{ room: string; port: number; secret: string; at: number }> = [];
  const sfu = {
    request: async (request: { op: string; room: string; port: number; secret: string }) => {
      if (request.op === 'mix') attached.push({ ...request, at: performance.now() });
    },
  } as unknown as SfuService;
  const mixers = new RoomMixers({ sfu: async () => sfu, logger: createLogger({ level: 'error', write: () => undefined }) });
  try {
    await mixers.start('r');
    await mixers.start('r');
    assert.equal(attached.length, 1, 'one mixer per room');
    const pid = await mixers.pid('r');
    const killedAt = performance.now();
    process.kill(pid!, 'SIGKILL');
    while (attached.length < 2 && performance.now() - killedAt < 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
    console.log(`restarted and attached ${(attached[1]!.at - killedAt).toFixed(0)} ms after SIGKILL`);
    assert.equal(attached.length, 2);
    assert.notEqual(attached[1]!.port, attached[0]!.port);
    assert.equal(attached[1]!.secret, attached[0]!.secret);
    assert.notEqual(await mixers.pid('r'), pid);
    assert.equal(mixers.restarts, 1);

    const last = await mixers.pid('r');
    await mixers.stop('r');
    assert.throws(() => process.kill(last!, 0), 'the stopped mixer is gone');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(attached.length, 2, 'a stopped mixer is not restarted');
  } finally {
    await mixers.close();
  }
});

test('a mixer that cannot be attached after a crash (the worker restarting: two refusals) is ended and tried again with backoff until it is, one mixer process at a time', async () => {
  const attached: Array<{ port: number; at: number }> = [];
  let refusals = 0;
  let refuse = 0;
  const sfu = {
    request: async (request: { op: string; port: number }) => {
      if (request.op !== 'mix') return;
      if (refuse > 0) {
        refuse -= 1;
        refusals += 1;
        throw new Error('the SFU worker is restarting');
      }
      attached.push({ port: request.port, at: performance.now() });
    },
  } as unknown as SfuService;
  const mixers = new RoomMixers({ sfu: async () => sfu, logger: createLogger({ level: 'error', write: () => undefined }) });
  try {
    await mixers.start('r');
    const first = await mixers.pid('r');
    refuse = 2;
    const killedAt = performance.now();
    process.kill(first!, 'SIGKILL');
    while (attached.length < 2 && performance.now() - killedAt < 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
    console.log(`attached again ${(attached[1]!.at - killedAt).toFixed(0)} ms after SIGKILL, after ${refusals} refused attachments`);
    assert.equal(refusals, 2, 'both refused attempts were made');
    assert.equal(attached.length, 2, 'then the mix is attached again by itself');
    assert.equal(mixers.restarts, 1);
    // Each refused mixer was ended: only the attached one runs.
    const running = await mixers.pid('r');
    assert.ok(running !== undefined && running !== first);
    process.kill(running, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(attached.length, 2, 'no other mixer attaches later');
    assert.equal(await mixers.pid('r'), running, 'and the attached one is not replaced');
  } finally {
    await mixers.close();
  }
});
