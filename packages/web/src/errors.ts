// Turns whatever went wrong into a sentence a person can act on. Nothing here touches the DOM, so
// the wording can be unit-tested and reused by both pages.

/**
 * Sentences for the error codes of ParleyError: the server's (packages/protocol/src/errors.ts),
 * POST /api/dev/token's (DEV_MODE_OFF) and the SDK's own (packages/client/src/errors.ts).
 * Codes missing here get the generic sentence with the SDK's message.
 */
const MESSAGES_BY_CODE: Readonly<Record<string, string>> = {
  TOKEN_EXPIRED: 'Your invitation has expired. Ask whoever invited you for a new link or token, then join again.',
  TOKEN_INVALID: 'This token is not valid on this server. Check that you pasted all of it, or ask for a new one.',
  TOKEN_MISSING: 'This server needs a token to let you in. Open "I have a token" and paste the token you were given.',
  TOKEN_WRONG_ROOM: 'This token is for a different room. Check the room name, or ask for a token for this room.',
  PERMISSION_DENIED: 'Your token does not allow that in this room.',
  ROOM_FULL: 'This room is full. Try again later, or ask the others to make room.',
  REPLACED: 'You joined this room from another tab or device, so this one was disconnected.',
  REMOVED: 'You were removed from the call by a room admin.',
  DEV_MODE_OFF: 'This server needs a token to join. Open "I have a token" and paste the token you were given.',
  MEDIA_DENIED: 'Your camera or microphone could not be used. Allow access in your browser\'s site settings (the icon next to the address), then try again.',
  MEDIA_NOT_FOUND: 'No camera or microphone was found. Plug one in and try again, or carry on without it.',
  MEDIA_FAILED: 'Your camera or microphone could not be started. Another app may be using it; close that app and try again.',
  CONNECTION_FAILED: 'Could not connect to the call. Check your internet connection and try again; if it keeps failing, your network may be blocking calls.',
  CONNECTION_LOST: 'The connection to the call was lost. Check your internet connection, then join again.',
  NEGOTIATION_FAILED: 'Audio and video with someone in the call could not be set up. A firewall or a strict network may be blocking it.',
  REQUEST_TIMEOUT: 'The call server took too long to answer. Try again.',
  RATE_LIMITED: 'Too many attempts in a short time. Wait a moment and try again.',
  SERVER_SHUTDOWN: 'The call server is restarting. Wait a moment and join again.',
  INTERNAL: 'The call server ran into a problem. Try again in a moment.',
  ROOM_NOT_ON_SFU: 'The server can record per track only while the call goes through it. Record in this browser instead.',
  ALREADY_RECORDING: 'The server is already recording this room.',
};

/** Sentences for getUserMedia failures, keyed by DOMException name. */
const MEDIA_MESSAGES_BY_NAME: Readonly<Record<string, string>> = {
  NotAllowedError: 'Your browser blocked the camera. You can join without it, or allow it in the site settings (the icon next to the address) and try again.',
  SecurityError: 'Your browser blocked the camera on this page.',
  NotFoundError: 'No camera was found. You can still join without one.',
  OverconstrainedError: 'No camera was found that can be used here. You can still join without one.',
  NotReadableError: 'The camera could not be started. Another app may be using it; close that app and turn the camera on again.',
  AbortError: 'The camera could not be started. Turn it off and on again to retry.',
};

/** Whether joining failed only for want of a token, so the join page should offer the token field. */
export function needsToken(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'DEV_MODE_OFF' || code === 'TOKEN_MISSING';
}

/** A user-facing sentence for an error from the SDK, the join flow or anything else. */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  const known = code === undefined ? undefined : MESSAGES_BY_CODE[code];
  if (known) return known;
  const mediaMessage = describeKnownMediaError(error);
  if (mediaMessage) return mediaMessage;
  const detail = errorMessage(error);
  const suffix = code ? ` (${code})` : '';
  return detail ? `Something went wrong: ${detail}${suffix}` : `Something went wrong${suffix}. Please try again.`;
}

/** A sentence for why the camera preview could not start (getUserMedia failed or is unavailable). */
export function describeCameraError(error: unknown): string {
  return describeKnownMediaError(error) ?? `The camera could not be started: ${errorMessage(error) || 'unknown error'}.`;
}

/**
 * Why sharing the screen failed, or undefined when the user just cancelled the browser's picker
 * (that arrives as a denied permission, and needs no message).
 */
export function describeScreenShareError(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code === 'MEDIA_DENIED') return undefined;
  if (code === 'PERMISSION_DENIED') return 'Your token does not allow sharing your screen in this room.';
  const detail = errorMessage(error);
  return `Your screen could not be shared${detail ? `: ${detail}` : ''}. Try again, or pick another window.`;
}

/** The sentence used when the browser has no camera API at all (typically: plain http off localhost). */
export const CAMERA_NEEDS_SECURE_PAGE =
  'Camera and microphone only work on secure pages (https, or localhost). Ask the server operator to enable https.';

function describeKnownMediaError(error: unknown): string | undefined {
  return error instanceof DOMException ? MEDIA_MESSAGES_BY_NAME[error.name] : undefined;
}

/**
 * The string `code` of an error. Checked by shape rather than `instanceof ParleyError` so this
 * module needs no SDK at run time (and keeps working if an error crosses a realm boundary).
 * DOMException also has a `code`, but a numeric one, which is ignored.
 */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' && error.code !== '' ? error.code : undefined;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : '';
}
