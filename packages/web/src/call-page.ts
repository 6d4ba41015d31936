// The call page: header (room name, participant count), the tile grid and the controls, kept in
// sync with the Room's events.

import type { LocalParticipant, ParleyError, RemoteParticipant, Room, RoomEvents } from '@parley/client';
import type { Banners } from './banners.ts';
import { createCallControls } from './call-controls.ts';
import { cloneTemplate, findElement, findPart, type View } from './dom.ts';
import { describeError } from './errors.ts';
import { ParticipantGrid } from './participant-grid.ts';
import { inviteLink } from './room-name.ts';
import { ParticipantTile } from './tiles.ts';

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

  /** Adds a new tile for `participant`, replacing any tile of the same identity. */
  function addRemoteTile(participant: RemoteParticipant): ParticipantTile {
    const tile = new ParticipantTile({ identity: participant.identity, name: displayNameOf(participant), isLocal: false });
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
    onRoom(room, 'trackSubscribed', ({ track, participant, source }) => {
      const tile = remoteTile(participant);
      tile.showTrack(source, track);
      syncRemoteTile(tile, participant);
    }),
    onRoom(room, 'trackUnsubscribed', ({ track, participant, source }) => {
      grid.get(participant.identity)?.removeTrack(source, track);
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
      banners.setNotice(state === 'reconnecting' ? 'Reconnecting…' : undefined);
    }),
    onRoom(room, 'error', (error) => banners.showError(describeError(error))),
    onRoom(room, 'disconnected', (error) => options.onEnded(error)),
  ];

  return {
    element,
    focus: () => heading.focus(),
    dispose() {
      stopListening.forEach((stop) => stop());
      controls.dispose();
      grid.dispose();
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
  const camera = local.isCameraEnabled ? local.tracks.get('camera') : undefined;
  if (camera) tile.showTrack('camera', camera);
  else tile.removeTrack('camera');
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
  tile.setCameraMuted(participant.tracks.get('camera')?.muted ?? false);
  for (const [source, info] of participant.tracks) {
    if (info.track) tile.showTrack(source, info.track);
  }
}

function displayNameOf(participant: { name: string; identity: string }): string {
  return participant.name.trim() || participant.identity;
}
