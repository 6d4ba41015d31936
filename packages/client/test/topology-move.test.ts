import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { DIRECT_LINK_MAX_OVERLAP_MS, directLinkRedundant, SFU_SWITCH_TIMEOUT_MS, TopologyMove, whenFlowing } from '../src/topology-move.ts';

describe('directLinkRedundant', () => {
  const both = { shownThroughSfu: 2, remoteTracks: 2, publishedTrackIds: ['t1', 't2'], deliveredTrackIds: new Set(['t1', 't2']) };

  test('redundant once every track of the other shows through the SFU and the SFU delivers every one of ours', () => {
    assert.equal(directLinkRedundant(both), true);
  });

  test('not while we receive the other only directly, or only some of its tracks through the SFU', () => {
    assert.equal(directLinkRedundant({ ...both, shownThroughSfu: 0 }), false);
    assert.equal(directLinkRedundant({ ...both, shownThroughSfu: 1 }), false);
  });

  test('not while the SFU has delivered only some or none of our tracks to the other', () => {
    assert.equal(directLinkRedundant({ ...both, deliveredTrackIds: new Set(['t2']) }), false);
    assert.equal(directLinkRedundant({ ...both, deliveredTrackIds: undefined }), false);
    assert.equal(directLinkRedundant({ ...both, deliveredTrackIds: new Set(['someone-elses']) }), false);
  });

  test('nothing to wait for from someone who sends nothing or left, or when we publish nothing', () => {
    assert.equal(directLinkRedundant({ ...both, shownThroughSfu: 0, remoteTracks: 0 }), true);
    assert.equal(directLinkRedundant({ ...both, shownThroughSfu: 0, remoteTracks: undefined }), true);
    assert.equal(directLinkRedundant({ ...both, publishedTrackIds: [], deliveredTrackIds: undefined }), true);
  });
});

/** A move over fake links to ann (sending one track) and bob (two), our tracks t1 and t2 published. */
function setup() {
  const closed: string[] = [];
  const link = (identity: string) => ({ close: () => void closed.push(identity) });
  const links = new Map([
    ['ann', link('ann')],
    ['bob', link('bob')],
  ]);
  const state = { onSfu: true, published: ['t1', 't2'] };
  const move = new TopologyMove({
    links,
    onSfu: () => state.onSfu,
    remoteTrackCount: (identity) => (identity === 'ann' ? 1 : identity === 'bob' ? 2 : undefined),
    publishedTrackIds: () => state.published,
  });
  return { move, links, closed, state };
}

describe('TopologyMove', () => {
  test('closes a direct link only when media flows through the SFU both ways, in either order', () => {
    const { move, links, closed } = setup();
    move.showing('ann');
    assert.deepEqual(closed, []);
    move.delivered('t1', 'ann');
    assert.deepEqual(closed, [], 'our t2 has not reached ann through the SFU yet');
    move.delivered('t2', 'ann');
    assert.deepEqual(closed, ['ann']);
    assert.deepEqual([...links.keys()], ['bob']);
    move.delivered('t2', 'bob');
    move.delivered('t1', 'bob');
    assert.deepEqual(closed, ['ann']);
    move.showing('bob');
    assert.deepEqual(closed, ['ann'], "bob's second track is not shown through the SFU yet");
    move.showing('bob');
    assert.deepEqual(closed, ['ann', 'bob']);
    assert.equal(links.size, 0);
  });

  test('replaceWhenReady shows a track only once it is ready, and counts it only if shown', async () => {
    const { move, closed } = setup();
    move.delivered('t1', 'ann');
    move.delivered('t2', 'ann');
    let ready!: () => void;
    const shown: string[] = [];
    move.replaceWhenReady('ann', new Promise<void>((resolve) => (ready = resolve)), () => shown.push('ann'));
    await Promise.resolve();
    assert.deepEqual([shown, closed], [[], []], 'nothing shown or closed before the track is ready');
    ready();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([shown, closed], [['ann'], ['ann']]);
    // A participant who left meanwhile (`show` answers false) is not counted as shown.
    move.delivered('t1', 'bob');
    move.delivered('t2', 'bob');
    move.replaceWhenReady('bob', Promise.resolve(), () => false);
    move.replaceWhenReady('bob', Promise.resolve(), () => false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(closed, ['ann']);
  });

  test('a delivery to someone else does not count', () => {
    const { move, closed } = setup();
    move.showing('ann');
    move.delivered('t1', 'bob');
    move.delivered('t2', 'bob');
    assert.deepEqual(closed, []);
  });

  test('keeps every link while the room is not on the SFU', () => {
    const { move, closed, state } = setup();
    state.onSfu = false;
    move.showing('ann');
    move.delivered('t1', 'ann');
    move.delivered('t2', 'ann');
    assert.deepEqual(closed, []);
  });

  test('reset forgets what an earlier move learnt', () => {
    const { move, closed } = setup();
    move.showing('ann');
    move.reset();
    move.delivered('t1', 'ann');
    move.delivered('t2', 'ann');
    assert.deepEqual(closed, []);
  });

  describe('with mock timers', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
    afterEach(() => mock.timers.reset());

    test('closes every link left after the overlap limit, however far the move got', () => {
      const { move, links, closed } = setup();
      move.limitOverlap();
      mock.timers.tick(DIRECT_LINK_MAX_OVERLAP_MS - 1);
      assert.deepEqual(closed, []);
      mock.timers.tick(1);
      assert.deepEqual(closed, ['ann', 'bob']);
      assert.equal(links.size, 0);
    });

    test('the overlap limit does nothing when the room left the SFU meanwhile', () => {
      const { move, links, closed, state } = setup();
      move.limitOverlap();
      state.onSfu = false;
      mock.timers.tick(DIRECT_LINK_MAX_OVERLAP_MS);
      assert.deepEqual(closed, []);
      assert.equal(links.size, 2);
    });
  });
});

describe('whenFlowing', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  const track = (muted: boolean) => Object.assign(new EventTarget(), { muted });
  /** Whether `promise` has settled, after pending callbacks ran. */
  async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await Promise.resolve();
    return done;
  }

  test('at once for a track that carries media already', async () => {
    assert.equal(await settled(whenFlowing(track(false))), true);
  });

  test('when a muted track unmutes, not before', async () => {
    const t = track(true);
    const flowing = whenFlowing(t);
    assert.equal(await settled(flowing), false);
    t.dispatchEvent(new Event('unmute'));
    assert.equal(await settled(flowing), true);
  });

  test('after the switch timeout for a track that never unmutes', async () => {
    const flowing = whenFlowing(track(true));
    mock.timers.tick(SFU_SWITCH_TIMEOUT_MS - 1);
    assert.equal(await settled(flowing), false);
    mock.timers.tick(1);
    assert.equal(await settled(flowing), true);
  });
});
