// Getting into a room: the access token, the connection, and the devices asked for on the join page.

import { fetchDevToken, type LocalParticipant, type Room } from '@parley/client';
import type { JoinRequest } from './join-page.js';

/**
 * Connects `room` as `identity`. Without a pasted token it asks this server for a dev token, which
 * fails with DEV_MODE_OFF on production servers (the join page then says a token is needed).
 */
export async function connectRoom(room: Room, request: JoinRequest, identity: string): Promise<void> {
  const token =
    request.token ?? (await fetchDevToken(location.origin, { room: request.room, identity, name: request.name }));
  await room.connect(location.origin, token, { room: request.room });
}

/**
 * Turns on the microphone and camera if the user asked for them. One after the other, because two
 * permission prompts at once confuse people (and some browsers refuse the second). A device that
 * fails does not stop the other; the errors are returned for the caller to show.
 */
export async function enableRequestedDevices(local: LocalParticipant, request: JoinRequest): Promise<unknown[]> {
  const errors: unknown[] = [];
  // Called for devices left off too: the choice is remembered for when they are turned on.
  await local.setMicrophoneEnabled(request.micOn, request.micDeviceId).catch((error: unknown) => errors.push(error));
  await local.setCameraEnabled(request.cameraOn, request.cameraDeviceId).catch((error: unknown) => errors.push(error));
  return errors;
}

/**
 * Leaves the room and makes sure the camera and microphone are released (the camera light goes
 * off) even if the session already ended abruptly. Safe to call on an already disconnected room.
 */
export async function disconnectAndReleaseDevices(room: Room): Promise<void> {
  // Read before disconnecting: the SDK may forget its tracks once disconnected.
  const localTracks = [...room.localParticipant.tracks.values()];
  try {
    await room.disconnect();
  } catch {
    // Already disconnected or the socket is gone; either way we are out of the room.
  } finally {
    for (const track of localTracks) track.stop();
  }
}
