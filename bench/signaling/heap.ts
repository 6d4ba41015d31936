/**
 * `npm run bench:signaling:heap`: the JavaScript heap a Parley server holds per joined participant,
 * after a forced garbage collection, in rooms of 2 and of 50. RSS (what `bench:signaling` reads)
 * moves by about 2 KiB per participant from run to run with what the collector has not returned
 * yet; this figure does not, so it is the one to compare changes with.
 *
 *   npm run bench:signaling:heap -- --participants 2000 --room-sizes 2,50
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createToken } from '@parley/server';
import type WebSocket from 'ws';
import { optionsOrExit } from '../cli.ts';
import { joinOnce, pooled } from './clients.ts';
import { parseSignalingOptions, USAGE } from './options.ts';
import { API_KEY, API_SECRET } from './targets.ts';

const options = optionsOrExit(parseSignalingOptions, USAGE.replace('bench:signaling', 'bench:signaling:heap'));
const WARM_UP = 50;

async function measure(roomSize: number): Promise<number> {
  const child = fork(fileURLToPath(new URL('./heap-server.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const replies: Array<(message: { url?: string; heapUsed?: number }) => void> = [];
    child.on('message', (message) => replies.shift()?.(message as never));
    const next = () => new Promise<{ url?: string; heapUsed?: number }>((resolve) => replies.push(resolve));
    const { url } = await next();
    const wsUrl = `${url!.replace(/^http/, 'ws')}/ws`;
    const token = (room: string, identity: string) => createToken({ apiKey: API_KEY, apiSecret: API_SECRET, room, identity, ttlSeconds: 3600 });
    // Warm up first (code compiled, pools and caches filled), so the measure is per participant.
    const warm: WebSocket[] = [];
    await pooled(await Promise.all(Array.from({ length: WARM_UP }, (_, i) => token(`warm-${Math.floor(i / roomSize)}`, `w${i}`))).then((tokens) => tokens.map((t) => () => joinOnce(wsUrl, t, warm))), options.concurrency);
    for (const socket of warm) socket.terminate();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const heap = async () => {
      const reply = next();
      child.send('measure');
      return (await reply).heapUsed!;
    };
    const before = await heap();
    const tokens = await Promise.all(Array.from({ length: options.participants }, (_, i) => token(`r${Math.floor(i / roomSize)}`, `p${i}`)));
    const open: WebSocket[] = [];
    const results = await pooled(tokens.map((t) => () => joinOnce(wsUrl, t, open)), options.concurrency);
    const failed = results.filter((result) => result.error !== undefined);
    if (failed.length > 0) throw new Error(`${failed.length} joins failed, e.g. ${failed[0]!.error}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await heap();
    for (const socket of open) socket.terminate();
    return (after - before) / options.participants;
  } finally {
    child.kill('SIGKILL');
  }
}

console.log(`signaling heap: ${options.participants} participants per case, rooms of ${options.roomSizes.join(' and ')}`);
for (const roomSize of options.roomSizes) {
  const bytes = await measure(roomSize);
  console.log(`rooms of ${roomSize}: ${(bytes / 1024).toFixed(2)} KiB of JavaScript heap per participant`);
}
