import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerActive } from '../../src/sfu/sfu-publisher.ts';

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
