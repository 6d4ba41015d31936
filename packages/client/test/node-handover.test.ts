import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { HANDOVER_LINGER_MS, HANDOVER_MAX_MS, NodeHandover, type ShownParticipant } from '../src/node-handover.ts';

/** Stands in for a MediaStreamTrack: the handover only compares them. */
const track = (name: string) => ({ name }) as unknown as MediaStreamTrack;
const showing = (shown: MediaStreamTrack): ShownParticipant => ({ tracks: new Map([['camera', { track: shown }]]) });

/**
 * A handover of a room where ann and bob each showed their camera from the old node (annOld,
 * bobOld); `state.published` are our new SFU publications.
 */
function setup(options: { publishing?: boolean } = {}) {
  const annOld = track('annOld');
  const bobOld = track('bobOld');
  const participants = new Map<string, ShownParticipant>([
    ['ann', showing(annOld)],
    ['bob', showing(bobOld)],
  ]);
  const state = { published: [] as string[], closed: 0, left: [] as string[], unsubscribed: [] as MediaStreamTrack[] };
  const handover = new NodeHandover({
    participants,
    publishedTrackIds: () => state.published,
    publishing: () => options.publishing ?? true,
    leave: (identity) => void state.left.push(identity),
    unsubscribe: (_participant, _source, old) => void state.unsubscribed.push(old),
  });
  handover.begin({ close: () => void state.closed++ }, ['ann', 'bob']);
  return { handover, participants, state, annOld, bobOld };
}

describe('NodeHandover', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('keeps the old connection until everyone is back, shown from the new node and receiving us there; then lingers and closes it', () => {
    const { handover, participants, state, annOld, bobOld } = setup();
    assert.equal(handover.isOldTrack(annOld), true);
    assert.equal(handover.returned('ann'), true, 'a participant of the old room is the same participant');
    assert.equal(handover.returned('bob'), true);
    assert.equal(handover.returned('carol'), false, 'a newcomer is a newcomer');
    participants.set('ann', showing(track('annNew')));
    handover.changed();
    state.published = ['t1'];
    handover.delivered('t1', 'ann');
    handover.delivered('t1', 'bob');
    mock.timers.tick(HANDOVER_LINGER_MS * 2);
    assert.equal(state.closed, 0, 'bob is still shown from the old node');
    participants.set('bob', showing(track('bobNew')));
    handover.changed();
    mock.timers.tick(HANDOVER_LINGER_MS - 1);
    assert.equal(state.closed, 0, 'the others get a moment to show our new tracks');
    mock.timers.tick(1);
    assert.equal(state.closed, 1);
    assert.deepEqual([state.left, state.unsubscribed], [[], []], 'nobody left, no old track shown');
    assert.equal(handover.active, false);
    assert.equal(handover.isOldTrack(bobOld), false, 'forgotten once it ended');
  });

  test('while we publish, waits until the new SFU delivered one of our tracks to each of them', () => {
    const { handover, participants, state } = setup();
    for (const identity of ['ann', 'bob']) {
      handover.returned(identity);
      participants.set(identity, showing(track(`${identity}New`)));
    }
    handover.changed();
    mock.timers.tick(HANDOVER_LINGER_MS * 2);
    assert.equal(state.closed, 0, 'not published on the new SFU yet');
    state.published = ['t1', 't2'];
    handover.delivered('t2', 'ann');
    handover.delivered('t1', 'carol');
    mock.timers.tick(HANDOVER_LINGER_MS * 2);
    assert.equal(state.closed, 0, 'bob receives us only through the old node');
    handover.delivered('t1', 'bob');
    mock.timers.tick(HANDOVER_LINGER_MS);
    assert.equal(state.closed, 1);
  });

  test('someone who left the new room is not waited for', () => {
    const { handover, participants, state } = setup({ publishing: false });
    handover.returned('ann');
    participants.set('ann', showing(track('annNew')));
    participants.delete('bob');
    handover.changed();
    mock.timers.tick(HANDOVER_LINGER_MS);
    assert.equal(state.closed, 1);
  });

  test('ends after HANDOVER_MAX_MS: who never came back leaves, an old track still shown is unsubscribed', () => {
    const { handover, state, annOld } = setup();
    handover.returned('ann');
    mock.timers.tick(HANDOVER_MAX_MS - 1);
    assert.equal(state.closed, 0);
    mock.timers.tick(1);
    assert.equal(state.closed, 1);
    assert.deepEqual(state.left, ['bob']);
    assert.ok(state.unsubscribed.includes(annOld));
    assert.equal(handover.returned('bob'), false, 'after the handover a join is a join');
  });

  test('a second rejoin ends the first handover before it begins', () => {
    const { handover, state } = setup();
    handover.begin({ close: () => undefined }, ['ann']);
    assert.equal(state.closed, 1);
    assert.deepEqual(state.left, ['ann', 'bob']);
    assert.equal(handover.active, true);
  });
});
