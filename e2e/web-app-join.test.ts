/**
 * A newcomer with its camera on, as the others see it in the web app: from the moment its tile
 * appears until its video plays, the tile says it is connecting and never "Camera off". An SFU
 * room (Alice in Chromium, Bob in Firefox), Carol (Chromium) joining through the join page.
 * Every state the tile goes through is recorded in the page by a MutationObserver (mutations are
 * delivered before the page paints, so a state the observer never saw was never on screen).
 * How long the connecting state lasts is measured by `npm run bench:join`, not here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestPage } from './harness/browsers.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { joinThroughUi, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';

const env = useCallEnvironment({ rooms: { topology: 'sfu' } });

interface TileState {
  /** The tile's data-camera: off, connecting or on. */
  camera: string | undefined;
  /** The placeholder's words while it shows, else undefined. */
  placeholder: string | undefined;
  videoHidden: boolean;
}

/** Records every state `name`'s remote tile shows, from its creation on. */
async function recordTile(page: TestPage, name: string): Promise<void> {
  await page.evaluate((name) => {
    const states: TileState[] = [];
    (window as unknown as { __tileStates: TileState[] }).__tileStates = states;
    const record = () => {
      const tile = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].find((t) => t.textContent?.includes(name));
      if (!tile) return;
      const placeholder = tile.querySelector<HTMLElement>('[data-part="placeholder"]')!;
      const state: TileState = {
        camera: tile.dataset.camera,
        placeholder: placeholder.hidden ? undefined : tile.querySelector('[data-testid="tile-placeholder-text"]')?.textContent ?? '',
        videoHidden: tile.querySelector<HTMLVideoElement>('[data-testid="tile-video"]')!.hidden === true,
      };
      const last = states.at(-1);
      if (!last || last.camera !== state.camera || last.placeholder !== state.placeholder || last.videoHidden !== state.videoHidden) states.push(state);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }, name);
}

const tileStates = (page: TestPage) => page.evaluate(() => (window as unknown as { __tileStates: TileState[] }).__tileStates, undefined);

describe('web app: a newcomer joining with its camera on', () => {
  test('the others see its tile connecting until its first frame, then its video; never "Camera off"', async () => {
    const room = 'web-join';
    const alice = await joinThroughUi(env.chromium, env.server.url, room, 'Alice');
    await waitForCall(alice, 1);
    const bob = await joinThroughUi(env.firefox, env.server.url, room, 'Bob');
    await Promise.all([waitForCall(alice, 2), waitForCall(bob, 2)]);
    await Promise.all([waitForRemoteVideo(alice, 'Bob'), waitForRemoteVideo(bob, 'Alice')]);

    await Promise.all([recordTile(alice, 'Carol'), recordTile(bob, 'Carol')]);
    const carol = await joinThroughUi(env.chromium, env.server.url, room, 'Carol');
    await Promise.all([waitForRemoteVideo(alice, 'Carol'), waitForRemoteVideo(bob, 'Carol'), waitForCall(carol, 3)]);

    for (const [viewer, page] of [['Alice', alice], ['Bob', bob]] as const) {
      const states = await tileStates(page);
      const seen = states.map((s) => `${s.camera}${s.placeholder ? ` "${s.placeholder}"` : ''}${s.videoHidden ? '' : ' video'}`).join(' -> ');
      assert.ok(states.length >= 2, `${viewer} saw Carol's tile connect, then play: ${seen}`);
      assert.deepEqual(states[0], { camera: 'connecting', placeholder: 'Connecting…', videoHidden: true }, `${viewer}: Carol's tile appears connecting (${seen})`);
      assert.deepEqual(states.at(-1), { camera: 'on', placeholder: undefined, videoHidden: false }, `${viewer}: then shows her video (${seen})`);
      assert.ok(states.every((s) => s.camera !== 'off' && s.placeholder !== 'Camera off'), `${viewer} never saw "Camera off" for Carol: ${seen}`);
    }
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});
