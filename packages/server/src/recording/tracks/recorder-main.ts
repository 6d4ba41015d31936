/**
 * The recorder process of one server recording (forked by `recorder-process.ts`), in one of two
 * roles given by PARLEY_RECORDER:
 * - `record`: listens on 127.0.0.1 (an ephemeral port, told to the parent), takes the SFU worker's
 *   connection (its first frame must carry the recording's secret), and appends each track's
 *   records to its own file, `s<connection>-t<track>.prec`, fsynced every second. Whatever it had
 *   written survives its own crash (the kernel holds it) and a power loss up to the last fsync.
 *   `stop` (IPC) or the parent's disappearance: waits for the connections to end, syncs, exits.
 * - `export`: turns the raw files into per-track files and the manifest (`recording-export.ts`),
 *   answers `{ event: 'exported', manifest }` and exits.
 * Its own process: a crash here never takes signaling or an SFU worker down.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { exportRecording } from './recording-export.js';
import { fileRecord, RecordType, WireFrameReader } from './record-format.js';
import { syncDirectory } from '../storage.js';

export type RecorderRole =
  | { role: 'record'; directory: string; recording: string; secret: string }
  | { role: 'export'; directory: string; recording: string; room: string; ffmpegPath: string; ffprobePath: string; composite: boolean };

export type RecorderMessage =
  | { event: 'listening'; port: number }
  | { event: 'stopped'; bytes: number; tracks: number }
  | { event: 'exported'; manifest: unknown }
  | { event: 'failed'; error: string };

const SYNC_MS = 1000;
/** How long `stop` waits for the worker's connections to send their last batch and end. */
const DRAIN_MS = 2000;

const role = JSON.parse(process.env.PARLEY_RECORDER ?? '{}') as RecorderRole;
const tell = (message: RecorderMessage) => process.connected && process.send!(message);

if (role.role === 'export') {
  exportRecording({ directory: role.directory, recording: role.recording, room: role.room, composite: role.composite, tools: { ffmpegPath: role.ffmpegPath, ffprobePath: role.ffprobePath } }).then(
    (manifest) => {
      tell({ event: 'exported', manifest });
      process.disconnect?.();
    },
    (error: unknown) => {
      tell({ event: 'failed', error: error instanceof Error ? error.message : String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
} else if (role.role === 'record') {
  record(role);
} else {
  process.exitCode = 2;
}

function record(settings: Extract<RecorderRole, { role: 'record' }>): void {
  const files = new Map<string, number>();
  const dirty = new Set<number>();
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytes = 0;
  /** Bytes received from every connection (the SFU's tap counts what it sent the same way). */
  let received = 0;
  let onReceived: (() => void) | undefined;
  const expected = Buffer.from(JSON.stringify({ recording: settings.recording, secret: settings.secret }));

  const server = createServer((socket) => {
    const segment = ++connections;
    const reader = new WireFrameReader();
    let trusted = false;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      try {
        const pending = new Map<number, Buffer[]>();
        for (const frame of reader.push(chunk)) {
          if (!trusted) {
            const hello = WireFrameReader.payload(frame.body);
            trusted = frame.type === RecordType.hello && hello.length === expected.length && timingSafeEqual(hello, expected);
            if (!trusted) return void socket.destroy();
            continue;
          }
          const key = `s${segment}-t${frame.track}.prec`;
          let fd = files.get(key);
          if (fd === undefined) {
            // A track's file starts with its description; records of a track never described are not kept.
            if (frame.type !== RecordType.track) continue;
            fd = openSync(join(settings.directory, key), 'a');
            files.set(key, fd);
            void syncDirectory(settings.directory).catch(() => undefined);
          }
          const list = pending.get(fd) ?? [];
          list.push(fileRecord(frame.body));
          pending.set(fd, list);
        }
        for (const [fd, list] of pending) {
          const data = Buffer.concat(list);
          writeSync(fd, data);
          bytes += data.length;
          dirty.add(fd);
        }
      } catch (error) {
        tell({ event: 'failed', error: `recorder connection ${segment}: ${error instanceof Error ? error.message : String(error)}` });
        socket.destroy();
      }
      onReceived?.();
    });
  });

  const sync = () => {
    for (const fd of dirty) fsyncSync(fd);
    dirty.clear();
  };
  const syncTimer = setInterval(sync, SYNC_MS);

  let stopping = false;
  /** Waits for the bytes the tap sent (at most DRAIN_MS), then for the connections to end, then closes the files. */
  const stop = (expectBytes = 0) => {
    if (stopping) return;
    stopping = true;
    const drained = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MS);
      onReceived = () => {
        if (received < expectBytes) return;
        clearTimeout(timer);
        resolve();
      };
      onReceived();
    });
    void drained.then(() => close());
  };
  const close = () => {
    server.close();
    const finish = () => {
      clearInterval(syncTimer);
      sync();
      for (const fd of files.values()) closeSync(fd);
      tell({ event: 'stopped', bytes, tracks: files.size });
      process.disconnect?.();
      process.exit(0);
    };
    if (sockets.size === 0) return finish();
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, DRAIN_MS);
    for (const socket of sockets) {
      socket.once('close', () => {
        if (sockets.size > 0) return;
        clearTimeout(timer);
        finish();
      });
    }
  };

  process.on('message', (message: { op?: string; expectBytes?: number }) => message.op === 'stop' && stop(message.expectBytes));
  process.on('disconnect', () => stop());
  process.on('SIGTERM', () => stop());
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') tell({ event: 'listening', port: address.port });
  });
}
