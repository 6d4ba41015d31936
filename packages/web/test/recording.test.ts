import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordingNotice } from '../src/recording-controls.ts';

test('recording indicator text: hidden without recordings, names each recorder once', () => {
  const nameOf = (identity: string) => ({ alice: 'Alice', bob: 'Bob' })[identity] ?? identity;
  assert.equal(recordingNotice([], nameOf), undefined);
  const running = (startedBy: string, id: string) => ({ id, mode: 'browser' as const, status: 'recording' as const, startedBy });
  assert.equal(recordingNotice([running('alice', 'rec_1')], nameOf), 'Recording (by Alice)');
  assert.equal(recordingNotice([running('alice', 'rec_1'), running('bob', 'rec_2'), running('alice', 'rec_3')], nameOf), 'Recording (by Alice, Bob)');
});
