/**
 * The recordings REST API as the e2e tests call it (docs/recording.md): bearer tokens with
 * `canRecord`, start/stop, waiting for a recording to finish, downloading its files.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createToken, DEV_API_KEY, DEV_API_SECRET } from '@parley/server';
import { decodeErrors, withoutRestampNotes } from '../../packages/server/test/media-tools.ts';

export interface ListedRecording {
  id: string;
  mode: string;
  status: string;
  error?: string;
  files: Array<{ name: string; url: string; bytes: number; durationSeconds: number | null }>;
}

export interface ManifestEntry {
  participant: string;
  source: string;
  kind: 'audio' | 'video';
  codec: string;
  file: string | null;
  startNtpMs: number | null;
  startArrivalMs: number | null;
  durationSeconds: number | null;
}

export const recordToken = (room: string) => createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'operator', ttlSeconds: 600, grants: { canRecord: true } });

export async function api(serverUrl: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${serverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Polls the listing until `id` is ready or failed; `seen` collects every status it went through. */
export async function waitFinished(serverUrl: string, room: string, token: string, id: string, timeoutMs = 60_000, seen: string[] = []): Promise<ListedRecording> {
  return until(
    `recording ${id} ready`,
    async () => {
      const found = ((await api(serverUrl, 'GET', `/api/rooms/${room}/recordings`, token)).json as ListedRecording[]).find((r) => r.id === id);
      if (found && seen[seen.length - 1] !== found.status) seen.push(found.status);
      return found && (found.status === 'ready' || found.status === 'failed') ? found : undefined;
    },
    timeoutMs,
  );
}

export async function download(serverUrl: string, listed: ListedRecording, token: string, name: string, directory: string): Promise<string> {
  const file = listed.files.find((f) => f.name === name);
  assert.ok(file, `${name} is listed (files: ${listed.files.map((f) => f.name).join(', ')})`);
  const response = await fetch(new URL(file.url, serverUrl), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  const local = join(directory, `${listed.id}-${name}`);
  await writeFile(local, new Uint8Array(await response.arrayBuffer()));
  return local;
}

/**
 * `ffmpeg -v error -i FILE -f null -` prints nothing but the null muxer's restamping note
 * (NULL_MUXER_RESTAMP) for a variable-frame-rate capture, and with -vsync vfr nothing at all.
 * Answers how many such notes it printed.
 */
export async function assertDecodes(path: string): Promise<number> {
  const output = await decodeErrors(path);
  assert.deepEqual(withoutRestampNotes(output), [], 'ffmpeg decodes it without an error');
  const lines = output.split('\n').filter((line) => line !== '');
  assert.equal(await decodeErrors(path, ['-vsync', 'vfr']), '', 'every frame decodes, with its own timestamp');
  return lines.length;
}
