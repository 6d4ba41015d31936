// The call page: header (room name, participant count, stats and devices panels), the tile grid
// and the controls, kept in sync with the Room's events.

import type { LocalParticipant, ParleyError, RemoteParticipant, Room, RoomEvents } from '@parley/client';
import type { Banners } from './banners.js';
import { createCallControls } from './call-controls.js';
import { createDevicePicker } from './device-picker.js';
import { cloneTemplate, findElement, findPart, type View } from './dom.js';
import { describeError } from './errors.js';
import { MixPlayer } from './mix-player.js';
import { ParticipantGrid } from './participant-grid.js';
import { inviteLink } from './room-name.js';
import { createRecordingControls } from './recording-controls.js';
import { createRecordingsPanel } from './recordings-panel.js';
import { createStatsPanel } from './stats-panel.js';
import { ParticipantTile } from './tiles.js';

const RECONNECTING_NOTICE = 'Reconnecting…';
const WEAK_VIDEO_NOTICE = 'Your connection is weak: sending lower quality video';

export interface CallPageOptions {
  /** A connected room. */
  room: Room;
  roomName: string;
  banners: Banners;
  /** The user pressed Leave. */
  onLeave(): void;
  /** The session ended without the user leaving; `error` says why when the server ended it. */
  onEnded(error: ParleyError | undefined): void;
}

export function createCallPage(options: CallPageOptions): View {
  const { room, banners } = options;
  const element = cloneTemplate('call-page-template');
  const heading = findElement(element, 'h1', HTMLHeadingElement);
  findPart(element, 'room-name', HTMLElement).textContent = options.roomName;

  const grid = new ParticipantGrid(findPart(element, 'grid', HTMLElement), showParticipantCount(element));
  const mixPlayer = new MixPlayer(element);

  const local = room.localParticipant;
  const localTile = new ParticipantTile({ identity: local.identity, name: displayNameOf(local), isLocal: true });
  grid.add(localTile);
  const syncSelfView = (): void => syncLocalTile(localTile, local);
  syncSelfView();

  const controls = createCallControls({
    root: element,
    localParticipant: local,
    inviteLink: inviteLink(location.origin, options.roomName),
    banners,
    onLeave: options.onLeave,
    onLocalMediaChanged: syncSelfView,
  });

  const recording = createRecordingControls({
    root: element,
    room,
    banners,
    nameOf: (identity) => (identity === local.identity ? 'you' : displayNameOf(room.remoteParticipants.get(identity) ?? { name: '', identity })),
  });

  // The connection notice: reconnecting matters more than the adaptive bitrate lowering our video.
  let reconnecting = false;
  let sendingLowQuality = false;
  const showNotice = (): void => banners.setNotice(reconnecting ? RECONNECTING_NOTICE : sendingLowQuality ? WEAK_VIDEO_NOTICE : undefined);

  /** The speaker picked in the devices panel, for tiles created later. */
  let speaker: string | undefined;
  const playOn = (tile: ParticipantTile, deviceId: string): Promise<void> =>
    tile.setAudioOutput(deviceId).catch((error: unknown) => banners.showError(describeError(error)));

  const statsPanel = createStatsPanel(findPart(element, 'stats-panel', HTMLElement), room, (identity) =>
    // SFU streams are "to" or "from" the server, which reports them under our own identity.
    identity === local.identity ? 'everyone (via the server)' : displayNameOf(room.remoteParticipants.get(identity) ?? { name: '', identity }),
  );
  const devicePicker = createDevicePicker({
    panel: findPart(element, 'settings-panel', HTMLElement),
    localParticipant: local,
    onSpeakerChanged: async (deviceId) => {
      speaker = deviceId;
      await Promise.all([...grid.all()].filter((tile) => !tile.isLocal).map((tile) => playOn(tile, deviceId)));
    },
    onError: (error) => banners.showError(describeError(error)),
  });
  const recordingsPanel = createRecordingsPanel(findPart(element, 'recordings-panel', HTMLElement), room, banners, (identity) =>
    identity === local.identity ? 'you' : displayNameOf(room.remoteParticipants.get(identity) ?? { name: '', identity }),
  );
  // The list and its downloads need the canRecord grant (the API refuses them otherwise).
  findPart(element, 'toggle-recordings', HTMLButtonElement).hidden = local.grants?.canRecord !== true;
  const panels = createPanelToggles(element, {
    recordings: { open: () => recordingsPanel.open(), close: () => recordingsPanel.close() },
    stats: { open: () => statsPanel.start(), close: () => statsPanel.stop() },
    settings: { open: () => void devicePicker.refresh(), close: () => undefined },
  });

  /** Adds a new tile for `participant`, replacing any tile of the same identity. */
  function addRemoteTile(participant: RemoteParticipant): ParticipantTile {
    const tile = new ParticipantTile({ identity: participant.identity, name: displayNameOf(participant), isLocal: false });
    if (speaker !== undefined) void playOn(tile, speaker);
    grid.add(tile);
    return tile;
  }

  /** The tile of a remote participant, created on first sight. */
  function remoteTile(participant: RemoteParticipant): ParticipantTile {
    return grid.get(participant.identity) ?? addRemoteTile(participant);
  }

  function showRemoteParticipant(participant: RemoteParticipant): void {
    syncRemoteTile(remoteTile(participant), participant);
  }

  /**
   * A join is a new session, even for an identity we already show (someone rejoining from another
   * device replaces their old session): start from a fresh tile so no frozen old video lingers.
   */
  function showJoinedParticipant(participant: RemoteParticipant): void {
    syncRemoteTile(addRemoteTile(participant), participant);
  }

  // People already in the room when we joined; later arrivals come through participantJoined.
  for (const participant of room.remoteParticipants.values()) showRemoteParticipant(participant);

  const stopListening = [
    onRoom(room, 'participantJoined', showJoinedParticipant),
    onRoom(room, 'participantUpdated', showRemoteParticipant),
    onRoom(room, 'participantLeft', (participant) => {
      // When someone rejoins from another device the server replaces their old session; if the
      // new one is already listed under the same identity, keep (and refresh) the tile.
      const successor = room.remoteParticipants.get(participant.identity);
      if (successor && successor !== participant) showRemoteParticipant(successor);
      else grid.remove(participant.identity);
    }),
    onRoom(room, 'trackSubscribed', (event) => {
      if (event.participant === undefined) return mixPlayer.play(event.track);
      const { track, participant, source } = event;
      const tile = remoteTile(participant);
      tile.showTrack(source, track);
      syncRemoteTile(tile, participant);
      grid.updateLayout();
    }),
    onRoom(room, 'trackUnsubscribed', (event) => {
      if (event.participant === undefined) return mixPlayer.stop(event.track);
      grid.get(event.participant.identity)?.removeTrack(event.source, event.track);
      grid.updateLayout();
    }),
    onRoom(room, 'localTrackPublished', () => {
      syncSelfView();
      controls.refresh();
    }),
    onRoom(room, 'localTrackUnpublished', () => {
      syncSelfView();
      controls.refresh();
    }),
    onRoom(room, 'connectionStateChanged', (state) => {
      reconnecting = state === 'reconnecting';
      showNotice();
    }),
    onRoom(room, 'adaptiveBitrateChanged', ({ profile }) => {
      sendingLowQuality = profile === 'low';
      showNotice();
    }),
    onRoom(room, 'connectionQualityChanged', (quality, participant) => {
      (participant ? grid.get(participant.identity) : localTile)?.setConnectionQuality(quality);
    }),
    onRoom(room, 'activeSpeakersChanged', (speakers) => {
      const speaking = new Set(speakers);
      for (const tile of grid.all()) tile.setSpeaking(speaking.has(tile.identity));
    }),
    onRoom(room, 'error', (error) => banners.showError(describeError(error))),
    onRoom(room, 'disconnected', (error) => options.onEnded(error)),
  ];

  return {
    element,
    focus: () => heading.focus(),
    dispose() {
      stopListening.forEach((stop) => stop());
      panels.closeAll();
      devicePicker.dispose();
      controls.dispose();
      recording.dispose();
      recordingsPanel.dispose();
      grid.dispose();
      mixPlayer.remove();
      banners.setNotice(undefined);
    },
  };
}

/** Subscribes to a Room event and returns the unsubscribe function. */
function onRoom<E extends keyof RoomEvents>(room: Room, event: E, listener: RoomEvents[E]): () => void {
  room.on(event, listener);
  return () => {
    room.off(event, listener);
  };
}

interface PanelHooks {
  open(): void;
  close(): void;
}

/**
 * The header's Stats and Devices buttons: each shows its panel (data-part `<name>-panel`, toggled by
 * `toggle-<name>`, closed by `<name>-close`); one panel at a time, so they never cover each other.
 */
function createPanelToggles(page: HTMLElement, hooks: Record<string, PanelHooks>): { closeAll(): void } {
  const panels = Object.entries(hooks).map(([name, hook]) => ({
    button: findPart(page, `toggle-${name}`, HTMLButtonElement),
    panel: findPart(page, `${name}-panel`, HTMLElement),
    close: findPart(page, `${name}-close`, HTMLButtonElement),
    hook,
  }));
  function setOpen(target: (typeof panels)[number], open: boolean): void {
    if (target.panel.hidden === !open) return;
    target.panel.hidden = !open;
    target.button.setAttribute('aria-expanded', String(open));
    if (open) target.hook.open();
    else target.hook.close();
  }
  for (const entry of panels) {
    entry.button.addEventListener('click', () => {
      const open = entry.panel.hidden !== false;
      for (const other of panels) if (other !== entry) setOpen(other, false);
      setOpen(entry, open);
    });
    entry.close.addEventListener('click', () => {
      setOpen(entry, false);
      entry.button.focus();
    });
  }
  return { closeAll: () => panels.forEach((entry) => setOpen(entry, false)) };
}

/** Updates the header's "N participants" whenever the number of tiles changes. */
function showParticipantCount(page: HTMLElement): (count: number) => void {
  const countElement = findPart(page, 'count', HTMLElement);
  const nounElement = findPart(page, 'count-noun', HTMLElement);
  return (count) => {
    countElement.textContent = String(count);
    nounElement.textContent = count === 1 ? 'participant' : 'participants';
  };
}

function syncLocalTile(tile: ParticipantTile, local: LocalParticipant): void {
  tile.setName(displayNameOf(local));
  tile.setMicrophoneMuted(!local.isMicrophoneEnabled);
  for (const source of ['camera', 'screen'] as const) {
    const track = local.tracks.get(source);
    if (track) tile.showTrack(source, track);
    else tile.removeTrack(source);
  }
}

/**
 * Brings a remote tile up to date with the participant's track info. Tracks are attached when
 * subscribed (trackSubscribed); this also picks up tracks that were subscribed before the call
 * page existed. A microphone that was never published counts as muted: it is silent either way.
 */
function syncRemoteTile(tile: ParticipantTile, participant: RemoteParticipant): void {
  tile.setName(displayNameOf(participant));
  const microphone = participant.tracks.get('microphone');
  tile.setMicrophoneMuted(microphone === undefined || microphone.muted);
  const camera = participant.tracks.get('camera');
  tile.setCameraAnnounced(camera && { muted: camera.muted });
  tile.setConnectionQuality(participant.connectionQuality);
  for (const [source, info] of participant.tracks) {
    if (info.track) tile.showTrack(source, info.track);
  }
}

function displayNameOf(participant: { name: string; identity: string }): string {
  return participant.name.trim() || participant.identity;
}
