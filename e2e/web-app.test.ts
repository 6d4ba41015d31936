/**
 * The web app as a person uses it: join page, call page with tiles, mic and camera toggles seen
 * by the other side, leave, and errors shown in words. Chromium and Firefox in one call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { launchBrowser, type TestPage } from './harness/browsers.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { byTestId, click, joinThroughUi, remoteTileState, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';

// P2P rooms (policy p2p), so a third person is refused; SFU group calls are in sfu-call.test.ts and web-app-sfu.test.ts.
const env = useCallEnvironment({ rooms: { topology: 'p2p' } });

const SELF_VIDEO = '[data-testid="tile"][data-local="true"] [data-testid="tile-video"]';

/** Waits until the self view plays a live camera and shows the microphone as on. */
function waitForSelfView(page: TestPage): Promise<void> {
  return page.waitFor(
    (video) => {
      const element = document.querySelector<HTMLVideoElement>(video);
      const tile = element?.closest<HTMLElement>('[data-testid="tile"]');
      const track = element?.srcObject instanceof MediaStream ? element.srcObject.getVideoTracks()[0] : undefined;
      return !!element && !element.hidden && track?.readyState === 'live' && element.videoWidth > 0 && tile?.dataset.micMuted === 'false';
    },
    SELF_VIDEO,
    { timeoutMs: 10_000, what: 'the self view playing the camera with the microphone on' },
  );
}

describe('web app', () => {
  test('two people join the same room from Chromium and Firefox, see and hear each other, mute, turn the camera off, and leave', async () => {
    const alice = await joinThroughUi(env.chromium, env.server.url, 'web-call', 'Alice');
    await waitForCall(alice, 1);
    const bob = await joinThroughUi(env.firefox, env.server.url, 'web-call', 'Bob');
    await Promise.all([waitForCall(alice, 2), waitForCall(bob, 2)]);
    await Promise.all([waitForRemoteVideo(alice, 'Bob'), waitForRemoteVideo(bob, 'Alice')]);

    const decoded = await alice.evaluate(async () => {
      const room = (window as unknown as { parleyRoom: import('@parley/client').Room }).parleyRoom;
      return (await room.getStats()).filter((s) => s.direction === 'inbound').map((s) => ({ kind: s.kind, frames: s.frames, bytes: s.bytes }));
    }, undefined);
    console.log('Alice receives from Bob:', JSON.stringify(decoded));
    assert.ok((decoded.find((s) => s.kind === 'video')?.frames ?? 0) > 0);
    assert.ok((decoded.find((s) => s.kind === 'audio')?.bytes ?? 0) > 0);
    assert.equal(await alice.evaluate(() => location.search, undefined), '?room=web-call');

    await click(bob, 'toggle-mic');
    await alice.waitFor(() => document.querySelector<HTMLElement>('[data-testid="tile"][data-local="false"]')?.dataset.micMuted === 'true', undefined, { timeoutMs: 10_000, what: "Bob's tile shows a muted mic" });
    await click(bob, 'toggle-camera');
    await alice.waitFor(() => document.querySelector<HTMLVideoElement>('[data-testid="tile"][data-local="false"] [data-testid="tile-video"]')?.hidden === true, undefined, { timeoutMs: 10_000, what: "Bob's tile shows the placeholder" });
    // Bob's button is released once his camera is off on his side (the unpublish finished), which
    // the placeholder at Alice does not imply: wait for it too.
    await bob.waitFor((sel) => document.querySelector(sel)?.getAttribute('aria-pressed') === 'false', byTestId('toggle-camera'), { timeoutMs: 10_000, what: "Bob's camera button released" });
    await click(bob, 'toggle-camera');
    await waitForRemoteVideo(alice, 'Bob');

    await click(bob, 'leave');
    await waitForCall(alice, 1);
    assert.equal((await remoteTileState(alice, 'Bob')).exists, false);
    await bob.waitFor((sel) => document.querySelector<HTMLInputElement>(sel)?.value === 'web-call', byTestId('join-room'), { timeoutMs: 10_000, what: 'Bob back on the join page with the room kept' });
    await Promise.all([alice.close(), bob.close()]);
  });

  test('the camera and microphone picked on the join page are the ones the call uses, also after turning the camera off and on', async () => {
    // A Chromium with two fake cameras (and microphones) to choose from.
    const browser = await launchBrowser('chromium', { extraArgs: ['--use-fake-device-for-media-stream=device-count=2'] });
    try {
      let chosen = { camera: '', microphone: '' };
      const pickSecondDevices = async (page: TestPage): Promise<void> => {
        await page.waitFor(
          ({ camera, mic }) => (document.querySelector<HTMLSelectElement>(camera)?.options.length ?? 0) === 2 && (document.querySelector<HTMLSelectElement>(mic)?.options.length ?? 0) >= 2,
          { camera: byTestId('join-camera-device'), mic: byTestId('join-mic-device') },
          { timeoutMs: 10_000, what: 'two cameras and the microphones listed on the join page' },
        );
        const listed = await page.evaluate(
          ({ camera, mic }) => {
            const labels = (sel: string) => [...document.querySelector<HTMLSelectElement>(sel)!.options].map((o) => o.label);
            const pick = (sel: string) => {
              const select = document.querySelector<HTMLSelectElement>(sel)!;
              select.value = select.options[select.options.length - 1]!.value;
              select.dispatchEvent(new Event('change', { bubbles: true }));
              return select.value;
            };
            return { cameras: labels(camera), microphones: labels(mic), camera: pick(camera), microphone: pick(mic) };
          },
          { camera: byTestId('join-camera-device'), mic: byTestId('join-mic-device') },
        );
        console.log(`join page lists cameras ${JSON.stringify(listed.cameras)}, microphones ${JSON.stringify(listed.microphones)}`);
        assert.deepEqual(listed.cameras, ['fake_device_0', 'fake_device_1'], 'cameras by name (the preview got the permission)');
        chosen = { camera: listed.camera, microphone: listed.microphone };
        // The preview follows the choice.
        await page.waitFor(
          ({ preview, id }) => (document.querySelector<HTMLVideoElement>(preview)?.srcObject as MediaStream | null)?.getVideoTracks()[0]?.getSettings().deviceId === id,
          { preview: byTestId('preview'), id: chosen.camera },
          { timeoutMs: 10_000, what: 'the preview on the picked camera' },
        );
      };
      const page = await joinThroughUi(browser, env.server.url, 'web-devices', 'Dana', { beforeJoin: pickSecondDevices });
      await waitForCall(page, 1);
      // The call page shows as soon as the room is connected; the camera and microphone open
      // after that. Wait for what the person sees once both are on: the self view playing a
      // camera and not showing the mic as muted. Only then are the published tracks known.
      await waitForSelfView(page);
      const inUse = () =>
        page.evaluate((selfVideo) => {
          const tracks = (window as unknown as { parleyRoom: import('@parley/client').Room }).parleyRoom.localParticipant.tracks;
          const shown = document.querySelector<HTMLVideoElement>(selfVideo)?.srcObject;
          return {
            camera: tracks.get('camera')?.getSettings().deviceId,
            microphone: tracks.get('microphone')?.getSettings().deviceId,
            selfView: shown instanceof MediaStream ? shown.getVideoTracks()[0]?.getSettings().deviceId : undefined,
          };
        }, SELF_VIDEO);
      assert.deepEqual(await inUse(), { ...chosen, selfView: chosen.camera }, 'the call publishes (and the self view shows) the picked camera and microphone');
      await click(page, 'toggle-camera');
      await page.waitFor(() => !(window as unknown as { parleyRoom: import('@parley/client').Room }).parleyRoom.localParticipant.isCameraEnabled, undefined, { timeoutMs: 10_000, what: 'camera off' });
      await click(page, 'toggle-camera');
      await waitForSelfView(page);
      const again = await inUse();
      assert.equal(again.camera, chosen.camera, 'turning the camera on again reopens the picked one');
      assert.equal(again.selfView, chosen.camera, 'and the self view shows it');
      await page.close();
    } finally {
      await browser.close();
    }
  });

  test('a third person in a P2P room is told in words that the room is full', async () => {
    const alice = await joinThroughUi(env.chromium, env.server.url, 'web-full', 'Alice');
    await waitForCall(alice, 1);
    const bob = await joinThroughUi(env.chromium, env.server.url, 'web-full', 'Bob');
    await waitForCall(bob, 2);
    const carol = await joinThroughUi(env.firefox, env.server.url, 'web-full', 'Carol');
    await carol.waitFor((sel) => /full/i.test(document.querySelector(sel)?.textContent ?? ''), byTestId('error'), { timeoutMs: 10_000, what: 'a "room is full" message' });
    const message = await carol.evaluate((sel) => document.querySelector(sel)?.textContent?.trim(), byTestId('error'));
    console.log('Carol sees:', message);
    assert.equal(await carol.evaluate((sel) => document.querySelector(sel) !== null, byTestId('join-button')), true, 'Carol stays on the join page');
    await waitForCall(alice, 2);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  test('on a phone the call fits the screen: no sideways scrolling, every control reachable, both people visible', async () => {
    const phone = await joinThroughUi(env.chromium, env.server.url, 'web-phone', 'Pat', { phone: true });
    await waitForCall(phone, 1);
    const desk = await joinThroughUi(env.firefox, env.server.url, 'web-phone', 'Dana');
    await waitForCall(phone, 2);
    await waitForRemoteVideo(phone, 'Dana');
    const layout = await phone.evaluate(() => {
      const inView = (el: Element | null) => {
        const r = el?.getBoundingClientRect();
        return !!r && r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
      };
      const tiles = [...document.querySelectorAll('[data-testid="tile"]')];
      return {
        viewport: [innerWidth, innerHeight],
        touch: navigator.maxTouchPoints,
        sideways: document.documentElement.scrollWidth - innerWidth,
        controls: ['toggle-mic', 'toggle-camera', 'toggle-screen', 'copy-invite', 'leave', 'toggle-stats', 'toggle-settings'].map((id) => inView(document.querySelector(`[data-testid="${id}"]`))),
        tilesVisible: tiles.map((tile) => inView(tile)),
        smallestTile: Math.min(...tiles.map((tile) => tile.getBoundingClientRect().height)),
      };
    }, undefined);
    console.log('phone layout:', JSON.stringify(layout));
    assert.deepEqual(layout.viewport, [390, 844]);
    assert.ok(layout.touch > 0, 'touch emulation is on');
    assert.equal(layout.sideways, 0, 'no horizontal scrolling');
    assert.deepEqual(layout.controls, [true, true, true, true, true, true, true]);
    assert.deepEqual(layout.tilesVisible, [true, true]);
    assert.ok(layout.smallestTile >= 150, `tiles are big enough to see a face (${layout.smallestTile}px)`);
    // The stats and devices panels open within the screen too.
    for (const [button, panel] of [['toggle-stats', 'stats-panel'], ['toggle-settings', 'settings-panel']] as const) {
      await click(phone, button);
      await phone.waitFor((sel) => document.querySelector<HTMLElement>(sel)?.hidden === false, byTestId(panel), { timeoutMs: 5000, what: `the ${panel} open` });
      const fit = await phone.evaluate((sel) => {
        const r = document.querySelector(sel)!.getBoundingClientRect();
        return { inView: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight, sideways: document.documentElement.scrollWidth - innerWidth };
      }, byTestId(panel));
      assert.deepEqual(fit, { inView: true, sideways: 0 }, `${panel} fits the phone`);
      await click(phone, button);
    }
    await click(phone, 'toggle-mic');
    await desk.waitFor(() => document.querySelector<HTMLElement>('[data-testid="tile"][data-local="false"]')?.dataset.micMuted === 'true', undefined, { timeoutMs: 10_000, what: "Pat's mute seen on the desktop" });
    await Promise.all([phone.close(), desk.close()]);
  });

  test('an invalid room name is explained before anything is sent', async () => {
    const page = await env.chromium.newPage();
    await page.goto(`${env.server.url}/`);
    await page.waitFor((sel) => document.querySelector(sel) !== null, byTestId('join-button'), { timeoutMs: 10_000, what: 'the join page' });
    await page.evaluate(
      ({ roomSel, buttonSel }) => {
        const input = document.querySelector<HTMLInputElement>(roomSel)!;
        input.value = 'no spaces allowed';
        input.dispatchEvent(new Event('input', { bubbles: true }));
        document.querySelector<HTMLButtonElement>(buttonSel)!.click();
      },
      { roomSel: byTestId('join-room'), buttonSel: byTestId('join-button') },
    );
    await page.waitFor((sel) => document.querySelector(sel) !== null, byTestId('error'), { timeoutMs: 5000, what: 'an error banner' });
    const shown = await page.evaluate(
      ({ errorSel, roomSel }) => ({
        message: document.querySelector(errorSel)?.textContent?.trim() ?? '',
        invalid: document.querySelector(roomSel)?.getAttribute('aria-invalid'),
        inCall: document.querySelector('[data-testid="call"]') !== null,
      }),
      { errorSel: byTestId('error'), roomSel: byTestId('join-room') },
    );
    console.log('Shown for an invalid room name:', shown.message);
    assert.match(shown.message, /room/i);
    assert.equal(shown.invalid, 'true');
    assert.equal(shown.inCall, false);
    await page.close();
  });
});
