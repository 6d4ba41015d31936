import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { RoomMixers } from '../../src/mcu/room-mixers.ts';
import { RecordType, wireFrameSize, writeWireFrame, type TrackDescription } from '../../src/recording/tracks/record-format.ts';
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

/** Connects to a mixer as its SFU worker would and publishes `cameras` VP8 tracks at once (their track records, no packets). */
function publishCameras(port: number, room: string, secret: string, cameras: number): Socket {
  const socket = connect(port, '127.0.0.1');
  const frame = (track: number, type: RecordType, payload: unknown) => {
    const body = Buffer.from(JSON.stringify(payload));
    const buffer = Buffer.allocUnsafe(wireFrameSize(body.length));
    writeWireFrame(buffer, 0, track, type, 0, Date.now(), body);
    return buffer;
  };
  socket.on('error', () => undefined);
  socket.write(frame(0, RecordType.hello, { recording: room, secret }));
  for (let track = 1; track <= cameras; track++) {
    const description: TrackDescription = { trackId: `camera-${track}`, participant: `p${track}`, source: 'camera', kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90_000, rids: [] };
    socket.write(frame(track, RecordType.track, description));
  }
  return socket;
}

test("the video decoders' starts (warm: the spare; cold: on demand) reach RoomMixers.stats() from a real mixer and ffmpeg, and a SIGKILLed mixer's counts are kept", async () => {
  const sockets: Socket[] = [];
  const sfu = {
    request: async (request: { op: string; room: string; port: number; secret: string }) => {
      // Two cameras at once, as a mixer that starts finds them: the first takes the spare, the second starts its own.
      if (request.op === 'mix') sockets.push(publishCameras(request.port, request.room, request.secret, 2));
    },
  } as unknown as SfuService;
  const mixers = new RoomMixers({
    sfu: async () => sfu,
    logger: createLogger({ level: 'error', write: () => undefined }),
    video: { ffmpegPath: 'ffmpeg', tiers: [{ width: 320, height: 180, fps: 15, bitrateKbps: 200 }], maxGrids: 4 },
  });
  const starts = () => {
    const { warmDecoderStarts: warm, coldDecoderStarts: cold, spareDecoderDeaths: died } = mixers.stats();
    return { warm, cold, died };
  };
  const until = async (done: () => boolean, what: string) => {
    const start = performance.now();
    while (!done()) {
      if (performance.now() - start > 20_000) throw new Error(`${what}: not within 20 s (${JSON.stringify(starts())})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await mixers.start('r');
    await until(() => starts().warm + starts().cold >= 2, "the first mixer's two decoders counted");
    assert.deepEqual(starts(), { warm: 1, cold: 1, died: 0 });
    process.kill((await mixers.pid('r'))!, 'SIGKILL');
    await until(() => mixers.restarts === 1, 'the mixer restarted');
    assert.deepEqual(starts(), { warm: 1, cold: 1, died: 0 }, "the dead mixer's counts are kept");
    await until(() => starts().warm + starts().cold >= 4, "the second mixer's decoders counted");
    assert.deepEqual(starts(), { warm: 2, cold: 2, died: 0 }, "the new mixer's add to them");
  } finally {
    for (const socket of sockets) socket.destroy();
    await mixers.close();
  }
});
