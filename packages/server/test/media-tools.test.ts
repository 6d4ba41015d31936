/** The test helpers' reading of ffmpeg's decode output (media-tools.ts): what is a restamping note and what is an error. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutRestampNotes } from './media-tools.ts';

test('withoutRestampNotes: restamping notes and their "Last message repeated" go; errors, and a repeat of an error, stay', () => {
  const note = '[null @ 0x55] Application provided invalid, non monotonically increasing dts to muxer in stream 0: 41 >= 41';
  const error = '[vp8 @ 0x56] Discarding interframe without a prior keyframe!';
  assert.deepEqual(withoutRestampNotes(''), []);
  assert.deepEqual(withoutRestampNotes(`${note}\n    Last message repeated 1 times\n${note}\n    Last message repeated 2 times\n    Last message repeated 1 times`), []);
  assert.deepEqual(withoutRestampNotes(`${note}\n${error}\n    Last message repeated 3 times`), [error, '    Last message repeated 3 times']);
  assert.deepEqual(withoutRestampNotes('    Last message repeated 1 times'), ['    Last message repeated 1 times'], 'a repeat of nothing seen is not taken for a note');
});
