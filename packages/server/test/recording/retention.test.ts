/**
 * `recording.retentionDays` (docs/recording.md, storage and settings): a server starting on a
 * recordings directory deletes the finished recordings (ready or failed) that ended longer ago
 * than that, files and all, and keeps the newer ones and those not finished.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalRecordingStorage } from '../../src/recording/storage.ts';
import type { RecordingRecord } from '../../src/recording/recording-types.ts';
import { startTestServer, token } from '../helpers.ts';

const DAY = 86400_000;
const dir = await mkdtemp(join(tmpdir(), 'parley-rec-retention-'));
after(() => rm(dir, { recursive: true, force: true }));

test('retentionDays 2: the recordings that ended 3 and 4 days ago are deleted with their files at start; one that ended an hour ago stays, downloadable', async () => {
  const store = join(dir, 'store');
  const storage = new LocalRecordingStorage(store);
  const room = 'kept-room';
  const record = (id: string, status: RecordingRecord['status'], endedAgoMs: number): RecordingRecord => ({
    id, room, mode: id.endsWith('1') ? 'browser' : 'tracks', status, startedBy: 'alice', startedAt: Date.now() - endedAgoMs - 60_000, endedAt: Date.now() - endedAgoMs, files: [],
  });
  const old = record('rec_000000000000000000000001', 'ready', 3 * DAY);
  const oldFailed = record('rec_000000000000000000000002', 'failed', 4 * DAY);
  const recent = record('rec_000000000000000000000003', 'ready', 3600_000);
  for (const r of [old, oldFailed, recent]) {
    await storage.save(r);
    const local = join(dir, `${r.id}.webm`);
    await writeFile(local, 'not really a webm');
    r.files = [{ name: 'file.webm', bytes: await storage.importFile(r, 'file.webm', local), durationSeconds: 1 }];
    await storage.save(r);
  }
  const recordingDir = (id: string) => join(store, 'rooms', room, id);
  assert.ok([old, oldFailed, recent].every((r) => existsSync(join(recordingDir(r.id), 'file.webm'))));

  const server = await startTestServer({ recording: { directory: store, retentionDays: 2 } });
  try {
    const bearer = await token(room, 'op', { grants: { canRecord: true } });
    const listed = async () => ((await (await fetch(`${server.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Array<{ id: string; files: Array<{ url: string }> }>);
    // The sweep runs in the background of the start: wait for it to have deleted what it deletes.
    const deadline = Date.now() + 10_000;
    while ((await listed()).length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const left = await listed();
    assert.deepEqual(left.map((r) => r.id), [recent.id], 'only the recording that ended an hour ago is left');
    assert.ok(!existsSync(recordingDir(old.id)) && !existsSync(recordingDir(oldFailed.id)), 'the deleted recordings’ directories are gone');
    const download = await fetch(new URL(left[0]!.files[0]!.url, server.url), { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(download.status, 200);
    assert.equal(await download.text(), 'not really a webm');
  } finally {
    await server.close();
  }
});
