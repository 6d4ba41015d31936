import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cameraEncodings, layerActive } from '../../src/sfu/sfu-publisher.ts';

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

test('cameraEncodings: three simulcast layers, lowest first, each with one temporal layer unless refused', () => {
  assert.deepEqual(
    cameraEncodings().map((e) => [e.rid, e.scaleResolutionDownBy, e.scalabilityMode]),
    [
      ['q', 4, 'L1T1'],
      ['h', 2, 'L1T1'],
      ['f', 1, 'L1T1'],
    ],
  );
  assert.equal(cameraEncodings(false).some((e) => 'scalabilityMode' in e), false, 'the browser default');
  const first = cameraEncodings();
  first[0]!.active = false;
  assert.equal(cameraEncodings()[0]!.active, undefined, 'fresh objects each time');
});
