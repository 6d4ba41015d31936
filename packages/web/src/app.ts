// Entry point of the web app (bundled to /app.js): shows the join page, turns a join into a call
// page, and goes back to the join page when the call ends.

import { detectNetworkQuality, Room, type ParleyError } from '@parley/client';
import { createBanners } from './banners.js';
import { createCallPage } from './call-page.js';
import { findPart, type View } from './dom.js';
import { describeError, needsToken } from './errors.js';
import { rememberedDisplayName, tabIdentity } from './identity.js';
import { createJoinPage, type JoinPage, type JoinRequest } from './join-page.js';
import { randomRoomName, roomFromSearch, roomPath } from './room-name.js';
import { connectRoom, disconnectAndReleaseDevices, enableRequestedDevices } from './session.js';
import { exposeRoomForTests } from './test-hooks.js';

const banners = createBanners(document);
const pageHost = findPart(document, 'page', HTMLElement);
const identity = tabIdentity();

let currentView: View | undefined;
/** The room being joined or in call; every async step checks it is still current before acting. */
let activeRoom: Room | undefined;

function setActiveRoom(room: Room | undefined): void {
  activeRoom = room;
  exposeRoomForTests(room);
}

function showView(view: View, moveFocus: boolean): void {
  currentView?.dispose();
  currentView = view;
  pageHost.replaceChildren(view.element);
  // After switching pages, put keyboard and screen-reader users at the top of the new one.
  // Not on first load, where the browser's own focus handling is what people expect.
  if (moveFocus) view.focus();
}

function showJoinPage(room: string, moveFocus: boolean): void {
  const joinPage = createJoinPage({
    room,
    name: rememberedDisplayName(),
    onJoin: (request) => joinCall(request, joinPage),
    onInvalid: (message) => banners.showError(message),
    testNetwork: (signal) => detectNetworkQuality({ url: location.origin, signal }),
  });
  showView(joinPage, moveFocus);
}

async function joinCall(request: JoinRequest, joinPage: JoinPage): Promise<void> {
  banners.clearError();
  const room = new Room();
  setActiveRoom(room);
  // The camera and microphone start before the join, so the join announces them: the others'
  // tiles say the camera is connecting (never "Camera off") and the room's media publishes them
  // at once (bench:join). The preview lets go of the camera first.
  joinPage.pausePreview();
  const deviceErrors = await enableRequestedDevices(room.localParticipant, request);
  if (activeRoom !== room) {
    await disconnectAndReleaseDevices(room);
    return;
  }
  try {
    await connectRoom(room, request, identity);
  } catch (error) {
    if (activeRoom === room) setActiveRoom(undefined);
    void disconnectAndReleaseDevices(room).then(() => joinPage.resumePreview());
    banners.showError(describeError(error));
    if (needsToken(error)) joinPage.revealTokenField();
    return;
  }
  if (activeRoom !== room) return;

  // The address bar now holds the invite link, so a reload lands on this room's join page.
  history.replaceState(null, '', roomPath(request.room));
  const callPage = createCallPage({
    room,
    roomName: request.room,
    banners,
    onLeave: () => void leaveCall(room, request.room),
    onEnded: (error) => void endCall(room, request.room, error),
  });
  showView(callPage, true);
  const firstError = deviceErrors[0];
  if (firstError !== undefined) banners.showError(describeError(firstError));
}

async function leaveCall(room: Room, roomName: string): Promise<void> {
  if (activeRoom !== room) return;
  setActiveRoom(undefined);
  banners.clearError();
  // The call page is disposed (and stops listening) before disconnecting, so our own disconnect
  // is not mistaken for the server ending the call.
  showJoinPage(roomName, true);
  await disconnectAndReleaseDevices(room);
}

async function endCall(room: Room, roomName: string, error: ParleyError | undefined): Promise<void> {
  if (activeRoom !== room) return;
  setActiveRoom(undefined);
  showJoinPage(roomName, true);
  banners.showError(error ? describeError(error) : 'You were disconnected from the call. Join again to continue.');
  await disconnectAndReleaseDevices(room);
}

// Closing or reloading the tab: leave properly, so the others see us go at once rather than after
// a timeout (and a page restored from the back/forward cache shows the join page, not a dead call).
// During a call the address bar holds the room (see joinCall), so that is the room to prefill.
window.addEventListener('pagehide', () => {
  if (activeRoom) void leaveCall(activeRoom, roomFromSearch(location.search) ?? '');
});

showJoinPage(roomFromSearch(location.search) ?? randomRoomName(), false);
