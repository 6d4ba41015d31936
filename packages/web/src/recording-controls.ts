// Recording in the call page: the header's indicator, shown to everyone while anyone records
// (consent), and the record button, shown to those whose token has the canRecord grant. The
// button records the call as this person sees it (every tile, everyone's audio), uploaded while
// it records (docs/recording.md). When the room is on the SFU, a choice next to the button picks
// where: this browser, or the server, which records every published track to its own file (no
// browser needed, nothing lost when this tab closes).

import type { RecordingSummary, Room } from '@parley/client';
import type { Banners } from './banners.js';
import { findPart } from './dom.js';
import { describeError } from './errors.js';

export interface RecordingControlsOptions {
  root: HTMLElement;
  room: Room;
  banners: Banners;
  /** Display name of an identity, for "Recording (by Alice)". */
  nameOf(identity: string): string;
}

/** The indicator's text for the recordings running now; undefined when none is. */
export function recordingNotice(running: RecordingSummary[], nameOf: (identity: string) => string): string | undefined {
  if (running.length === 0) return undefined;
  const names = [...new Set(running.map((r) => nameOf(r.startedBy)))];
  return `Recording (by ${names.join(', ')})`;
}

export function createRecordingControls(options: RecordingControlsOptions): { dispose(): void } {
  const { room, banners } = options;
  const indicator = findPart(options.root, 'recording-indicator', HTMLElement);
  const indicatorText = findPart(options.root, 'recording-text', HTMLElement);
  const button = findPart(options.root, 'toggle-recording', HTMLButtonElement);
  const modeField = findPart(options.root, 'recording-mode-field', HTMLElement);
  const modeSelect = findPart(options.root, 'recording-mode', HTMLSelectElement);
  const allowed = room.localParticipant.grants?.canRecord === true;
  button.hidden = !allowed;
  let own: string | undefined;
  let busy = false;

  const show = (): void => {
    const text = recordingNotice(room.activeRecordings, options.nameOf);
    indicator.hidden = text === undefined;
    indicatorText.textContent = text ?? '';
    button.setAttribute('aria-pressed', String(own !== undefined));
    button.title = own ? 'Stop recording' : 'Record the call';
    button.disabled = busy;
    // The server records what its SFU receives: the choice exists only when the call goes through it.
    modeField.hidden = !allowed || room.topology === 'p2p';
    modeSelect.disabled = busy || own !== undefined;
  };

  const onClick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    show();
    try {
      if (own) {
        const id = own;
        own = undefined;
        await room.stopRecording(id);
        banners.announce('Recording stopped: it is being prepared for download');
      } else {
        const serverMode = room.topology !== 'p2p' && (modeSelect.value === 'tracks' || modeSelect.value === 'composite') ? modeSelect.value : undefined;
        own = serverMode ? (await room.startRecording({ mode: serverMode })).id : (await room.startRecording({ mode: 'browser', source: 'call' })).id;
        banners.announce(serverMode === 'tracks' ? 'Recording started on the server, one file per track' : serverMode === 'composite' ? 'Recording started on the server, one file with everyone' : 'Recording started');
      }
    } catch (error) {
      banners.showError(describeError(error));
    } finally {
      busy = false;
      show();
    }
  };
  const click = () => void onClick();
  button.addEventListener('click', click);
  const changed = (recording: RecordingSummary): void => {
    if (recording.id === own && recording.status !== 'recording') own = undefined;
    show();
  };
  const failed = ({ id }: { id: string }): void => {
    if (id === own) own = undefined;
    show();
  };
  const topologyChanged = (): void => show();
  room.on('recordingChanged', changed);
  room.on('recordingFailed', failed);
  room.on('topologyChanged', topologyChanged);
  show();
  // A recording this person made in this browser before a reload or a closed tab: its chunks
  // the server had not acknowledged are still here (IndexedDB); send them so the file is ready.
  if (allowed) {
    room
      .resumeRecordings()
      .then((results) => {
        const saved = results.filter((result) => result.outcome === 'completed').length;
        if (saved > 0) banners.announce(saved === 1 ? 'Your recording from before the page was closed is saved' : `Your ${saved} recordings from before the page was closed are saved`);
      })
      .catch((error: unknown) => banners.showError(describeError(error)));
  }
  return {
    dispose() {
      button.removeEventListener('click', click);
      room.off('recordingChanged', changed);
      room.off('recordingFailed', failed);
      room.off('topologyChanged', topologyChanged);
    },
  };
}
