/**
 * Recording from the web app in an SFU room (docs/recording.md): a person whose token has
 * canRecord picks "Server, per track" next to the record button, records, stops, opens the
 * Recordings panel, sees the recording ready with its files, and downloads one: the saved file
 * (fetched with the bearer token by the page, saved through the browser's own download) is the
 * listed file, and ffprobe reads it with the recorded duration. Someone without the grant sees
 * neither the record control nor the list.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createToken, DEV_API_KEY, DEV_API_SECRET, verifyWebhook } from '@parley/server';
import type { TestPage } from './harness/browsers.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { byTestId, click, joinThroughUi, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';
import { decodeProblems, probe } from '../packages/server/test/media-tools.ts';
import { Receiver } from '../packages/server/test/webhook-receiver.ts';

const RECORD_SECONDS = 8;
const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-webrec-'));
// A real webhook receiver: the server recording's `recording_ready` carries the listed files.
const receiver = new Receiver();
await receiver.up();
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef-0123';
const env = useCallEnvironment({ rooms: { topology: 'sfu' }, recording: { directory: join(dir, 'store') }, webhooks: { urls: [receiver.url], secret: WEBHOOK_SECRET } });
after(async () => {
  await receiver.down();
  await rm(dir, { recursive: true, force: true });
});

interface Listed {
  id: string;
  mode: string;
  status: string;
  files: Array<{ name: string; url: string; bytes: number; durationSeconds: number | null }>;
}

/** Joins through the join page with a pasted token (the way a token with grants gets in). */
async function joinWithToken(room: string, identity: string, name: string, grants: Record<string, boolean>): Promise<TestPage> {
  const token = await createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity, name, ttlSeconds: 600, grants });
  return joinThroughUi(env.chromium, env.server.url, room, name, { token });
}

/** What of the recording UI the page shows: the record button, the mode choice, the list's button and panel. */
const recordingUi = (page: TestPage) =>
  page.evaluate(
    (ids) => {
      const shown = (id: string) => {
        const element = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
        // The mode choice is inside a label that is hidden as a whole.
        return element !== null && !element.hidden && element.closest('[hidden]') === null;
      };
      return Object.fromEntries(ids.map((id) => [id, shown(id)]));
    },
    ['toggle-recording', 'recording-mode', 'toggle-recordings', 'recordings-panel'],
  );

const indicator = (page: TestPage, text: string | undefined) =>
  page.waitFor(
    ({ sel, text }) => {
      const element = document.querySelector<HTMLElement>(sel);
      return element !== null && element.hidden === (text === undefined) && (text === undefined || element.textContent?.trim() === text);
    },
    { sel: byTestId('recording-indicator'), text },
    { timeoutMs: 15_000, what: `the recording indicator ${text ?? 'hidden'}` },
  );

describe('web app: server recording and the list of recordings', () => {
  test('canRecord picks "Server, per track", records, stops; the list shows it ready with its files; a download plays with the recorded duration; no grant: no control, no list', async (t) => {
    const room = 'web-rec-sfu';
    const rita = await joinWithToken(room, 'rita', 'Rita', { canRecord: true });
    const victor = await joinWithToken(room, 'victor', 'Victor', {});
    await Promise.all([waitForCall(rita, 2), waitForCall(victor, 2)]);
    await Promise.all([waitForRemoteVideo(rita, 'Victor'), waitForRemoteVideo(victor, 'Rita')]);

    // The mode choice appears once the page knows the room is on the SFU.
    await rita.waitFor((sel) => document.querySelector(sel)?.closest('[hidden]') === null, byTestId('recording-mode'), { timeoutMs: 10_000, what: 'the recording mode choice' });
    assert.deepEqual(await recordingUi(rita), { 'toggle-recording': true, 'recording-mode': true, 'toggle-recordings': true, 'recordings-panel': false });
    assert.deepEqual(await recordingUi(victor), { 'toggle-recording': false, 'recording-mode': false, 'toggle-recordings': false, 'recordings-panel': false }, 'no grant: no record control, no list');
    assert.deepEqual(
      await rita.evaluate((sel) => [...document.querySelector<HTMLSelectElement>(sel)!.options].map((o) => `${o.value}:${o.textContent}`), byTestId('recording-mode')),
      ['browser:This browser', 'tracks:Server, per track', 'composite:Server, one file (speaker large)'],
    );

    await rita.evaluate((sel) => {
      const select = document.querySelector<HTMLSelectElement>(sel)!;
      select.value = 'tracks';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    }, byTestId('recording-mode'));
    await click(rita, 'toggle-recording');
    await Promise.all([indicator(rita, 'Recording (by you)'), indicator(victor, 'Recording (by Rita)')]);
    const startedAt = Date.now();
    assert.equal(await rita.evaluate(() => window.parleyRoom?.activeRecordings.map((r) => r.mode).join(','), undefined), 'tracks', 'the recording is the server’s, per track');
    assert.equal(await rita.evaluate((sel) => document.querySelector<HTMLSelectElement>(sel)!.disabled, byTestId('recording-mode')), true, 'the choice is locked while recording');
    // The length of the recording, not a wait for anything.
    await new Promise((resolve) => setTimeout(resolve, RECORD_SECONDS * 1000));
    await click(rita, 'toggle-recording');
    await Promise.all([indicator(rita, undefined), indicator(victor, undefined)]);
    const truth = (Date.now() - startedAt) / 1000;

    await click(rita, 'toggle-recordings');
    await rita.waitFor(
      (sel) => {
        const row = document.querySelector<HTMLElement>(sel);
        return row?.dataset.status === 'ready' && row.querySelectorAll('[data-testid="recording-file"]').length > 0;
      },
      `${byTestId('recording-row')}[data-mode="tracks"]`,
      { timeoutMs: 30_000, what: 'the server recording listed as ready with files' },
    );
    const shown = await rita.evaluate(
      (sel) => {
        const row = document.querySelector<HTMLElement>(sel)!;
        return { id: row.dataset.id ?? '', text: row.textContent ?? '', files: [...row.querySelectorAll<HTMLElement>('[data-testid="recording-file"]')].map((b) => b.dataset.name ?? '') };
      },
      `${byTestId('recording-row')}[data-mode="tracks"]`,
    );
    t.diagnostic(`listed: ${shown.text}`);
    assert.match(shown.text, /Server recording, per track/);
    assert.match(shown.text, /by you/);
    // Two publishers, camera and microphone each, and the manifest.
    assert.ok(shown.files.includes('manifest.json'), `files: ${shown.files.join(', ')}`);
    for (const who of ['rita', 'victor']) {
      for (const source of ['camera', 'microphone']) assert.ok(shown.files.some((f) => new RegExp(`^track-\\d+-${who}-${source}\\.webm$`).test(f)), `${who}'s ${source} file among ${shown.files.join(', ')}`);
    }

    // What the API lists for it, to compare the download with.
    const bearer = await createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'checker', ttlSeconds: 600, grants: { canRecord: true } });
    const listed = ((await (await fetch(`${env.server.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Listed[]).find((r) => r.id === shown.id);
    assert.ok(listed, 'the row is the API’s recording');
    // The recording_ready webhook, sent when the export finished (its delivery is asynchronous).
    const readyFor = () => receiver.deliveries.filter((d) => d.payload.event === 'recording_ready' && (d.payload as { recording?: { id: string } }).recording?.id === listed.id);
    for (const deadline = Date.now() + 10_000; readyFor().length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    const ready = readyFor();
    assert.equal(ready.length, 1, `one recording_ready for ${listed.id}; got ${receiver.deliveries.map((d) => d.payload.event).join(', ')}`);
    assert.equal(verifyWebhook(ready[0]!.body, ready[0]!.headers['parley-signature'] as string, WEBHOOK_SECRET).ok, true);
    assert.deepEqual((ready[0]!.payload as unknown as { recording: Listed }).recording.files, listed.files, 'the webhook carries the listed files');
    assert.equal((ready[0]!.payload as unknown as { recording: Listed }).recording.mode, 'tracks');
    const camera = listed.files.find((f) => /-rita-camera\.webm$/.test(f.name));
    assert.ok(camera, `Rita's camera file is listed: ${listed.files.map((f) => f.name).join(', ')}`);

    const saved = join(dir, 'downloaded.webm');
    const { suggestedFilename } = await rita.saveDownload(
      () => rita.evaluate((name) => document.querySelector<HTMLButtonElement>(`[data-testid="recording-file"][data-name="${name}"]`)!.click(), camera.name),
      saved,
    );
    assert.equal(suggestedFilename, `${room}-${listed.id}-${camera.name}`);
    assert.equal((await stat(saved)).size, camera.bytes, 'the saved file is the listed file, every byte');
    const direct = await fetch(new URL(camera.url, env.server.url), { headers: { authorization: `Bearer ${bearer}` } });
    assert.ok(Buffer.from(await direct.arrayBuffer()).equals(await readFile(saved)), 'the same bytes as the API serves');
    const probed = await probe(saved);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`), ['video:vp8']);
    const duration = probed.durationSeconds ?? 0;
    assert.ok(Math.abs(duration - truth) < 1, `the downloaded file lasts ${duration.toFixed(2)} s; recorded ${truth.toFixed(2)} s`);
    assert.deepEqual(await decodeProblems(saved), [], 'it decodes without an error');
    t.diagnostic(`recorded ${truth.toFixed(2)} s; downloaded ${suggestedFilename}: ${camera.bytes} bytes, ffprobe ${duration.toFixed(2)} s`);

    // Still nothing for Victor after the recording (the ready event reached him too).
    assert.deepEqual(await recordingUi(victor), { 'toggle-recording': false, 'recording-mode': false, 'toggle-recordings': false, 'recordings-panel': false });
    await Promise.all([rita.close(), victor.close()]);
  });
  test('a browser recording whose tab was closed mid-recording: the same person joining again in this browser gets it finished from what the closed page kept', async (t) => {
    const room = 'web-rec-reopen';
    const first = await joinWithToken(room, 'rosa', 'Rosa', { canRecord: true });
    await waitForCall(first, 1);
    await first.waitFor(() => (document.querySelector<HTMLVideoElement>('[data-testid="tile"][data-local="true"] [data-testid="tile-video"]')?.currentTime ?? 0) > 0.5, undefined, { timeoutMs: 15_000, what: 'the self view playing' });
    // "This browser" is the default choice.
    await click(first, 'toggle-recording');
    await indicator(first, 'Recording (by you)');
    const startedAt = Date.now();
    const id = await first.evaluate(() => window.parleyRoom?.activeRecordings[0]?.id ?? '', undefined);
    assert.match(id, /^rec_/);
    await first.waitFor(() => (window.parleyRoom?.activeRecordings.length ?? 0) > 0, undefined, { timeoutMs: 5000, what: 'the recording listed as running' });
    // The length of the recording, not a wait for anything.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const closedAt = Date.now();
    await first.close();
    const bearer = await createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'checker', ttlSeconds: 600, grants: { canRecord: true } });
    const get = async () => (await (await fetch(`${env.server.url}/api/rooms/${room}/recordings/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Listed & { error?: string };
    assert.equal((await get()).status, 'recording', 'the server waits for the rest of the upload (idle finish after 60 s)');

    const again = await joinWithToken(room, 'rosa', 'Rosa', { canRecord: true });
    await waitForCall(again, 1);
    let listed = await get();
    for (const deadline = Date.now() + 20_000; listed.status !== 'ready' && listed.status !== 'failed' && Date.now() < deadline; listed = await get()) await new Promise((resolve) => setTimeout(resolve, 250));
    const readyAfter = (Date.now() - closedAt) / 1000;
    assert.equal(listed.status, 'ready', listed.error);
    const file = listed.files[0];
    const truth = (closedAt - startedAt) / 1000;
    // The chunk under way when the tab closed (up to the 1 s timeslice) is the only part lost.
    assert.ok(file?.durationSeconds !== null && file !== undefined && file.durationSeconds > truth - 2 && file.durationSeconds < truth + 0.5, `file ${file?.durationSeconds} s, recorded ${truth.toFixed(2)} s until the tab closed`);
    const saved = join(dir, 'reopened.webm');
    const response = await fetch(new URL(file.url, env.server.url), { headers: { authorization: `Bearer ${bearer}` } });
    await writeFile(saved, new Uint8Array(await response.arrayBuffer()));
    assert.deepEqual(await decodeProblems(saved), [], 'it decodes without an error');
    t.diagnostic(`recorded ${truth.toFixed(2)} s until the tab closed; ready ${readyAfter.toFixed(1)} s after, once Rosa joined again; file ${file.durationSeconds?.toFixed(2)} s, ${file.bytes} bytes`);
    await again.close();
  });
});
