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

test('recordings list: sizes in B/KB/MB, download names that never collide between recordings', async () => {
  const { formatBytes, downloadName } = await import('../src/recordings-panel.ts');
  assert.deepEqual([formatBytes(999), formatBytes(154_321), formatBytes(7_912_345)], ['999 B', '154 KB', '7.9 MB']);
  assert.equal(downloadName('demo', { id: 'rec_1', mode: 'browser' }, 'recording.webm'), 'demo-rec_1.webm');
  assert.equal(downloadName('demo', { id: 'rec_2', mode: 'tracks' }, 'track-1-alice-camera.webm'), 'demo-rec_2-track-1-alice-camera.webm');
});
