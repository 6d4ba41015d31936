import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParleyError } from '../../src/errors.ts';
import { layerActive, publishRetryDelayMs, PUBLISH_ATTEMPTS, PUBLISH_TIMEOUT_ATTEMPTS } from '../../src/sfu/sfu-publisher.ts';

const RIDS = ['q', 'h', 'f'];

function active(wanted: readonly string[] | undefined, capped: boolean): string[] {
  return RIDS.filter((rid) => layerActive(rid, { top: 'f', wanted, capped }));
}

test('layerActive: every layer until the SFU says which have receivers', () => {
  assert.deepEqual(active(undefined, false), ['q', 'h', 'f']);
});

test('layerActive: dynacast keeps exactly the layers the SFU wants', () => {
  assert.deepEqual(active(['q'], false), ['q']);
  assert.deepEqual(active(['q', 'h'], false), ['q', 'h']);
  assert.deepEqual(active([], false), []);
});

test('layerActive: the low profile turns the top layer off, whatever the SFU wants', () => {
  assert.deepEqual(active(undefined, true), ['q', 'h']);
  assert.deepEqual(active(['q', 'h', 'f'], true), ['q', 'h']);
  assert.deepEqual(active(['f'], true), []);
});

test('layerActive: a camera sending fewer layers has its own top capped, not a missing one', () => {
  assert.deepEqual(
    ['q', 'h'].filter((rid) => layerActive(rid, { top: 'h', wanted: undefined, capped: true })),
    ['q'],
  );
});

test('publishRetryDelayMs: a publishTrack lost with the signaling connection goes again each second, a late one at once a few times, a refusal never', () => {
  const lost = new ParleyError('CONNECTION_LOST', 'the signaling connection closed');
  const reconnecting = new ParleyError('NOT_CONNECTED', 'not connected to the signaling server');
  const late = new ParleyError('REQUEST_TIMEOUT', 'the server did not answer publishTrack in time');
  assert.equal(publishRetryDelayMs(lost, 1), 1000);
  assert.equal(publishRetryDelayMs(reconnecting, PUBLISH_ATTEMPTS - 1), 1000);
  assert.equal(publishRetryDelayMs(reconnecting, PUBLISH_ATTEMPTS), undefined, 'given up after the membership would have expired');
  assert.equal(publishRetryDelayMs(late, 1), 0);
  assert.equal(publishRetryDelayMs(late, PUBLISH_TIMEOUT_ATTEMPTS), undefined);
  assert.equal(publishRetryDelayMs(new ParleyError('MEDIA_REJECTED', 'the SFU refused the offer'), 1), undefined);
  assert.equal(publishRetryDelayMs(new Error('not a ParleyError'), 1), undefined);
});
