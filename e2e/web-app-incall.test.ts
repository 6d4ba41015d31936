/**
 * The web app's in-call tools, used through the UI in real browsers (Alice in Chromium, Bob in
 * Firefox): connection quality bars on the tiles, the stats panel with live figures and graphs,
 * the device picker switching the camera mid-call, a screen share shown as a large featured tile
 * at the other side (stopped from the button and from the browser's own "Stop sharing"), and the
 * "Reconnecting…" notice while the server has dropped the signaling connection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestPage } from './harness/browsers.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { byTestId, click, joinThroughUi, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';

const env = useCallEnvironment({ rooms: { topology: 'p2p' } });

/** Waits until the video `selector` picks in `name`'s tile has played `seconds` more from now. */
async function waitForTileVideoToAdvance(page: TestPage, name: string, testId: 'tile-video' | 'tile-screen', seconds: number): Promise<void> {
  const selector = `[data-testid="${testId}"]`;
  const start = await page.evaluate(
    ({ name, selector }) => {
      const tile = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].find((t) => t.textContent?.includes(name));
      return tile?.querySelector<HTMLVideoElement>(selector)?.currentTime ?? 0;
    },
    { name, selector },
  );
  await page.waitFor(
    ({ name, selector, until }) => {
      const tile = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].find((t) => t.textContent?.includes(name));
      const video = tile?.querySelector<HTMLVideoElement>(selector);
      return !!video && !video.hidden && video.videoWidth > 0 && video.currentTime >= until;
    },
    { name, selector, until: start + seconds },
    { timeoutMs: 15_000, what: `${name}'s ${testId} playing ${seconds} s more` },
  );
}

/** The quality shown on each tile: identity -> bars (undefined while hidden). */
function qualityBars(page: TestPage): Promise<Record<string, { bars: string | undefined; label: string }>> {
  return page.evaluate(
    () =>
      Object.fromEntries(
        [...document.querySelectorAll<HTMLElement>('[data-testid="tile"]')].map((tile) => {
          const quality = tile.querySelector<HTMLElement>('[data-testid="tile-quality"]')!;
          return [tile.dataset.local === 'true' ? 'self' : (tile.dataset.identity ?? ''), { bars: quality.hidden ? undefined : quality.dataset.bars, label: quality.textContent?.trim() ?? '' }];
        }),
      ),
    undefined,
  );
}

/** Bob's view of Alice's screen share: is her tile featured, and how big is it next to the rest. */
function featuredLayout(page: TestPage) {
  return page.evaluate(() => {
    const grid = document.querySelector<HTMLElement>('.grid')!;
    const cells = [...grid.querySelectorAll<HTMLElement>('.tile-cell')];
    const featured = cells.find((cell) => cell.classList.contains('is-featured'));
    const area = (el: Element) => el.getBoundingClientRect().width * el.getBoundingClientRect().height;
    const screen = featured?.querySelector<HTMLVideoElement>('[data-testid="tile-screen"]');
    return {
      mode: grid.dataset.featured,
      featured: featured?.querySelector<HTMLElement>('[data-testid="tile"]')?.dataset.identity,
      screenPlaying: !!screen && !screen.hidden && screen.videoWidth > 0,
      featuredTileArea: featured ? Math.round(area(featured.querySelector('[data-testid="tile"]')!)) : 0,
      largestOtherTileArea: Math.max(0, ...cells.filter((c) => c !== featured).map((c) => Math.round(area(c.querySelector('[data-testid="tile"]')!)))),
    };
  }, undefined);
}

describe('web app in-call tools', () => {
  test('quality bars, stats panel, device switch, screen share as a featured tile, reconnecting notice', async () => {
    const alice = await joinThroughUi(env.chromium, env.server.url, 'web-incall', 'Alice');
    await waitForCall(alice, 1);
    const bob = await joinThroughUi(env.firefox, env.server.url, 'web-incall', 'Bob');
    await Promise.all([waitForCall(alice, 2), waitForCall(bob, 2)]);
    await Promise.all([waitForRemoteVideo(alice, 'Bob'), waitForRemoteVideo(bob, 'Alice')]);
    const aliceIdentity = await alice.evaluate(() => window.parleyRoom!.localParticipant.identity, undefined);

    // Quality bars: every tile (remote ones from the others' reports, the self view from our own).
    for (const page of [alice, bob]) {
      await page.waitFor(
        () => [...document.querySelectorAll<HTMLElement>('[data-testid="tile-quality"]')].every((q) => !q.hidden && q.dataset.bars !== undefined),
        undefined,
        { timeoutMs: 15_000, what: 'quality bars on every tile' },
      );
    }
    const bars = { alice: await qualityBars(alice), bob: await qualityBars(bob) };
    console.log('quality bars:', JSON.stringify(bars));
    for (const shown of [...Object.values(bars.alice), ...Object.values(bars.bob)]) {
      assert.match(shown.bars ?? '', /^[0-3]$/);
      assert.match(shown.label, /^Connection: /, 'the quality is also in words for screen readers');
    }

    // Stats panel: Bob's camera as Alice receives it, with a bitrate, a codec and a graph drawn.
    await click(alice, 'toggle-stats');
    // Four rows (sent and received audio and video) once every stream has had a stats sample.
    await alice.waitFor(
      () =>
        document.querySelectorAll('[data-testid="stats-row"]').length >= 4 &&
        [...document.querySelectorAll<HTMLElement>('[data-testid="stats-row"]')].some((row) => {
          const text = (id: string) => row.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
          return /Bob · camera · received/.test(text('stats-label')) && /^[1-9][\d.]* [kM]bps$/.test(text('stats-bitrate')) && /^(VP8|VP9|H264|AV1)$/i.test(text('stats-codec'));
        }),
      undefined,
      { timeoutMs: 10_000, what: "four stats rows, one for Bob's camera with a bitrate and a codec" },
    );
    // A few refreshes later the bitrate graph has a line on it.
    await alice.waitFor(
      () => {
        const row = [...document.querySelectorAll<HTMLElement>('[data-testid="stats-row"]')].find((r) => /Bob · camera/.test(r.textContent ?? ''));
        const canvas = row?.querySelector<HTMLCanvasElement>('canvas');
        if (!canvas) return false;
        const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
        // Columns with ink: one sample a second, about 3 px apart, drawn from the right edge.
        const columns = new Set<number>();
        for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) columns.add(((i - 3) / 4) % canvas.width);
        return columns.size >= 9;
      },
      undefined,
      { timeoutMs: 10_000, what: 'the bitrate sparkline drawn' },
    );
    const statsRows = await alice.evaluate(
      () => [...document.querySelectorAll<HTMLElement>('[data-testid="stats-row"]')].map((row) => [...row.querySelectorAll('h3, dd')].map((el) => el.textContent).join(' | ')),
      undefined,
    );
    console.log('Alice stats panel:\n  ' + statsRows.join('\n  '));
    assert.ok(statsRows.length >= 4, 'sent and received audio and video each have a row');
    await click(alice, 'toggle-stats');
    assert.equal(await alice.evaluate((sel) => document.querySelector<HTMLElement>(sel)!.hidden, byTestId('stats-panel')), true);

    // Device picker: the fake camera is listed; switching to it gives a new track and Bob keeps seeing video.
    await click(alice, 'toggle-settings');
    await alice.waitFor((sel) => (document.querySelector<HTMLSelectElement>(sel)?.options.length ?? 0) > 0, byTestId('device-camera'), { timeoutMs: 10_000, what: 'cameras listed' });
    const picker = await alice.evaluate(
      ({ camera, microphone, speaker }) => {
        const select = (sel: string) => document.querySelector<HTMLSelectElement>(sel)!;
        const options = (sel: string) => [...select(sel).options].map((o) => o.textContent);
        return {
          cameras: options(camera),
          microphones: options(microphone),
          speakerListShown: !select(speaker).closest<HTMLElement>('.field')!.hidden,
          cameraSwitchable: !select(camera).disabled,
        };
      },
      { camera: byTestId('device-camera'), microphone: byTestId('device-microphone'), speaker: byTestId('device-speaker') },
    );
    console.log('device picker:', JSON.stringify(picker));
    assert.ok(picker.cameras.length >= 1 && picker.microphones.length >= 1);
    assert.equal(picker.cameraSwitchable, true);
    assert.equal(picker.speakerListShown, true, 'Chromium can choose the speaker (setSinkId)');
    await alice.evaluate((sel) => {
      const room = window.parleyRoom!;
      (window as unknown as { __cameraBefore?: MediaStreamTrack }).__cameraBefore = room.localParticipant.tracks.get('camera');
      const select = document.querySelector<HTMLSelectElement>(sel)!;
      select.value = select.options[0]!.value;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    }, byTestId('device-camera'));
    await alice.waitFor(
      (sel) => {
        const now = window.parleyRoom!.localParticipant.tracks.get('camera');
        const before = (window as unknown as { __cameraBefore?: MediaStreamTrack }).__cameraBefore;
        return now !== undefined && now !== before && now.readyState === 'live' && before?.readyState === 'ended' && !document.querySelector(sel)!.hasAttribute('aria-busy');
      },
      byTestId('device-camera'),
      { timeoutMs: 10_000, what: 'the camera switched to a new track' },
    );
    await waitForTileVideoToAdvance(bob, 'Alice', 'tile-video', 1);
    await click(alice, 'toggle-settings');

    // Screen share: Bob sees Alice's screen large, playing; stopping it brings the normal grid back.
    assert.equal(await alice.evaluate((sel) => document.querySelector<HTMLElement>(sel)!.hidden, byTestId('toggle-screen')), false, 'Chromium can share');
    await click(alice, 'toggle-screen');
    await alice.waitFor((sel) => document.querySelector(sel)?.getAttribute('aria-pressed') === 'true', byTestId('toggle-screen'), { timeoutMs: 10_000, what: 'the Share button pressed' });
    await bob.waitFor(() => document.querySelector('.tile-cell.is-featured [data-testid="tile-screen"]:not([hidden])') !== null, undefined, { timeoutMs: 15_000, what: "Alice's screen featured at Bob" });
    await waitForTileVideoToAdvance(bob, 'Alice', 'tile-screen', 1);
    const featured = await featuredLayout(bob);
    console.log('Bob sees the share:', JSON.stringify(featured));
    assert.equal(featured.featured, aliceIdentity);
    assert.equal(featured.screenPlaying, true);
    assert.ok(featured.featuredTileArea > 4 * featured.largestOtherTileArea, 'the shared screen is much larger than the other tiles');

    await click(alice, 'toggle-screen');
    await bob.waitFor(() => document.querySelector('.is-featured') === null && document.querySelector<HTMLElement>('.grid')!.dataset.featured === undefined, undefined, { timeoutMs: 10_000, what: 'the featured tile gone at Bob' });
    assert.equal(await bob.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="tile"][data-local="false"] [data-testid="tile-screen"]')!.hidden, undefined), true);

    // Ending the share from the browser's own "Stop sharing" (the track ends) updates the button.
    await click(alice, 'toggle-screen');
    await bob.waitFor(() => document.querySelector('.tile-cell.is-featured') !== null, undefined, { timeoutMs: 15_000, what: 'the second share featured at Bob' });
    await alice.evaluate(() => {
      const track = window.parleyRoom!.localParticipant.tracks.get('screen')!;
      // What the browser does when its sharing bar's Stop is pressed: the track ends and says so.
      track.stop();
      track.dispatchEvent(new Event('ended'));
    }, undefined);
    await alice.waitFor((sel) => document.querySelector(sel)?.getAttribute('aria-pressed') === 'false', byTestId('toggle-screen'), { timeoutMs: 10_000, what: 'the Share button released' });
    await bob.waitFor(() => document.querySelector('.is-featured') === null, undefined, { timeoutMs: 10_000, what: 'the featured tile gone after the browser stopped the share' });

    // Reconnecting: the notice shows while the signaling connection is down and goes after the resume.
    await alice.evaluate((sel) => {
      const notice = document.querySelector(sel)!;
      const seen: string[] = [];
      (window as unknown as { __notices: string[] }).__notices = seen;
      new MutationObserver(() => seen.push(notice.textContent ?? '')).observe(notice, { childList: true, characterData: true, subtree: true });
    }, byTestId('notice'));
    const alicePresence = env.server.rooms.get('web-incall')?.get(aliceIdentity);
    assert.ok(alicePresence && !alicePresence.suspended, 'Alice has a signaling connection');
    alicePresence.link.drop();
    await alice.waitFor(
      (sel) => (window as unknown as { __notices: string[] }).__notices.includes('Reconnecting…') && document.querySelector(sel)?.textContent === '' && window.parleyRoom?.state === 'connected',
      byTestId('notice'),
      { timeoutMs: 15_000, what: 'the Reconnecting… notice shown, then cleared after the resume' },
    );
    console.log('notices seen by Alice:', JSON.stringify(await alice.evaluate(() => (window as unknown as { __notices: string[] }).__notices, undefined)));
    await waitForCall(alice, 2);
    await waitForTileVideoToAdvance(alice, 'Bob', 'tile-video', 1);
    await Promise.all([alice.close(), bob.close()]);
  });
});
