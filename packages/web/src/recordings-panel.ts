// The "Recordings" panel (for tokens with canRecord): the room's recordings, browser and server
// ones, with their status and files. The files need the bearer token, so a plain link cannot
// download them: a file's button fetches it through the SDK (Authorization header) and saves the
// Blob under its name with a temporary object URL.

import type { RecordingListing, Room } from '@parley/client';
import type { Banners } from './banners.js';
import { findPart } from './dom.js';
import { describeError } from './errors.js';

export interface RecordingsPanel {
  /** The panel opened: list now, and again whenever a recording's status changes. */
  open(): void;
  close(): void;
  dispose(): void;
}

const MODE_LABELS: Readonly<Record<string, string>> = { browser: 'Browser recording', tracks: 'Server recording, per track', composite: 'Server recording, composite' };
const STATUS_LABELS: Readonly<Record<string, string>> = { recording: 'recording…', processing: 'being prepared…', ready: 'ready', failed: 'failed' };

/** "154 KB", "1.2 MB": a file's size for the list. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** The name a downloaded file is saved under: the room, the recording and the file, so several never collide. */
export function downloadName(room: string, recording: Pick<RecordingListing, 'id' | 'mode'>, file: string): string {
  return recording.mode === 'browser' ? `${room}-${recording.id}.webm` : `${room}-${recording.id}-${file}`;
}

export function createRecordingsPanel(panel: HTMLElement, room: Room, banners: Banners, nameOf: (identity: string) => string): RecordingsPanel {
  const list = findPart(panel, 'recordings-list', HTMLElement);
  const empty = findPart(panel, 'recordings-empty', HTMLElement);
  let open = false;
  // A change while a list request is under way asks for one more afterwards, never two at once.
  let loading = false;
  let again = false;

  async function refresh(): Promise<void> {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      do {
        again = false;
        const recordings = await room.listRecordings();
        if (open) render(recordings);
      } while (again && open);
    } catch (error) {
      empty.hidden = false;
      empty.textContent = `The recordings could not be listed. ${describeError(error)}`;
    } finally {
      loading = false;
    }
  }

  function render(recordings: RecordingListing[]): void {
    empty.hidden = recordings.length > 0;
    empty.textContent = 'No recordings of this room yet.';
    // Newest first: the one just made is the one people look for.
    list.replaceChildren(...[...recordings].reverse().map(row));
  }

  function row(recording: RecordingListing): HTMLElement {
    const item = document.createElement('li');
    item.className = 'recording-row';
    item.dataset.testid = 'recording-row';
    item.dataset.id = recording.id;
    item.dataset.mode = recording.mode;
    item.dataset.status = recording.status;
    const title = document.createElement('h3');
    title.className = 'recording-title';
    const started = new Date(recording.startedAt);
    title.textContent = `${MODE_LABELS[recording.mode] ?? recording.mode} · ${Number.isNaN(started.getTime()) ? '' : started.toLocaleTimeString()} · by ${nameOf(recording.startedBy)}`;
    const status = document.createElement('p');
    status.className = 'recording-status';
    status.dataset.status = recording.status;
    status.textContent = (STATUS_LABELS[recording.status] ?? recording.status) + (recording.error ? `: ${recording.error}` : '');
    const files = document.createElement('ul');
    files.className = 'recording-files';
    for (const file of recording.status === 'ready' || recording.status === 'failed' ? recording.files : []) {
      const entry = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'recording-file';
      button.dataset.testid = 'recording-file';
      button.dataset.name = file.name;
      const duration = file.durationSeconds === null ? '' : ` · ${file.durationSeconds.toFixed(1)} s`;
      button.textContent = `${file.name} · ${formatBytes(file.bytes)}${duration}`;
      button.title = `Download ${file.name}`;
      button.addEventListener('click', () => void save(button, file.url, downloadName(room.name ?? 'room', recording, file.name)));
      entry.append(button);
      files.append(entry);
    }
    item.append(title, status, files);
    return item;
  }

  async function save(button: HTMLButtonElement, url: string, name: string): Promise<void> {
    button.disabled = true;
    try {
      const blob = await room.downloadRecordingFile(url);
      const href = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = href;
      link.download = name;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      // The browser has taken the Blob once the click's download started; a minute is ample.
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
    } catch (error) {
      banners.showError(describeError(error));
    } finally {
      button.disabled = false;
    }
  }

  const changed = (): void => {
    if (open) void refresh();
  };
  room.on('recordingChanged', changed);
  return {
    open() {
      open = true;
      void refresh();
    },
    close() {
      open = false;
    },
    dispose() {
      open = false;
      room.off('recordingChanged', changed);
    },
  };
}
