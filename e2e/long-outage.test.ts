/**
 * An outage longer than the server's grace period (a tunnel, a Wi-Fi that drops for a while): the
 * server gives the membership up and the others see the participant leave; when the link comes
 * back the SDK, still trying, joins afresh by itself and its video flows again. A short grace and
 * heartbeat keep the test short (the default grace is 20 s), and the link stays down until the
 * others have seen the leave, the moment the outage has outlasted the grace: here 4-6 s (the
 * server's 2 s heartbeat finds the dead socket within 4 s, then the 2 s grace runs out).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useShapedCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';

const GRACE_SECONDS = 2;
/** The server gives the membership up within 2 x heartbeat + grace (6 s); this leaves room for a loaded machine. */
const LEAVE_LIMIT_MS = 15_000;
const RECOVERY_LIMIT_MS = 20_000;

describe('an outage longer than the grace period', () => {
  const env = useShapedCallEnvironment({ reconnectGraceSeconds: GRACE_SECONDS, heartbeatSeconds: 2 });

  for (const topology of ['sfu', 'p2p'] as const) {
    test(`${topology.toUpperCase()}: the others see the participant leave; when the link is back it joins again by itself, its camera shown as on at once, and its video flows`, async () => {
      const room = `long-outage-${topology}`;
      const shaped = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, room, 'away', { roomConfig: { topology }, microphone: false });
      const host = await SdkParticipant.join(env.hostBrowser, env.server.url, room, 'home', { roomConfig: { topology }, camera: false, microphone: false });
      try {
        await host.waitForVideoFrom('away', 10);
        // Everything dropped until the others see the leave (the host's link is not shaped).
        const blockedAt = Date.now();
        await env.network.applyProfile('outage');
        try {
          await host.waitForEvent('participantLeft', 'away:disconnected', LEAVE_LIMIT_MS);
        } finally {
          await env.network.applyProfile('clear');
        }
        const backAt = Date.now();
        const outageMs = backAt - blockedAt;
        await host.waitForEvent('participantJoined', 'away', RECOVERY_LIMIT_MS);
        // The fresh join announced the camera: the others show it connecting, not switched off.
        const rejoined = (await host.events()).filter((e) => e.name === 'participantJoinedWith' && e.at >= backAt);
        assert.equal(rejoined[0]?.detail, 'away:camera=live', 'the others see the camera on from the rejoin');
        await host.waitForVideoFrom('away', 10, RECOVERY_LIMIT_MS - (Date.now() - backAt));
        console.log(`${topology}: outage of ${outageMs} ms (until the others saw the leave) with a ${GRACE_SECONDS} s grace: 'away' joined again and its video decodes ${Date.now() - backAt} ms after the link came back`);
        const awayEvents = await shaped.events();
        assert.ok(awayEvents.some((e) => e.name === 'connectionStateChanged' && e.detail === 'reconnecting'), 'the SDK noticed the drop');
        assert.deepEqual(awayEvents.filter((e) => e.name === 'error' || e.name === 'disconnected'), [], 'and never gave up');
        assert.equal(await shaped.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.state, undefined), 'connected');
        assert.deepEqual(await shaped.remoteIdentities(), ['home']);
        assert.equal(env.server.rooms.get(room)?.size, 2, 'one membership each on the server');
      } finally {
        await Promise.all([shaped.close(), host.close()]);
      }
    });
  }
});
