import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/config.ts';
import type { SessionContext } from '../../src/signaling/session.ts';
import { attachSignaling } from '../../src/signaling/ws-server.ts';

/** A client socket whose peer is gone: every write fails with EPIPE, as a load balancer's that gave up. */
function brokenSocket(): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
}

test('an upgrade refused while draining (503), or on another path (404), to a peer already gone does not end the process', async () => {
  const http = createServer();
  // Refusals only read the limits and the heartbeat from the context.
  const signaling = attachSignaling(http, { config: resolveConfig({}) } as unknown as SessionContext);
  signaling.refuseNew();
  const sockets = [brokenSocket(), brokenSocket()];
  http.emit('upgrade', { url: '/ws', headers: {} } as IncomingMessage, sockets[0], Buffer.alloc(0));
  http.emit('upgrade', { url: '/elsewhere', headers: {} } as IncomingMessage, sockets[1], Buffer.alloc(0));
  // An unhandled 'error' event would surface as an uncaught exception here and fail this test.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const socket of sockets) assert.ok(socket.destroyed, 'the refused socket is closed');
  await signaling.close();
});
