import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCameraError, describeError, describeScreenShareError, needsToken } from '../src/errors.ts';

/** Shaped like the SDK's ParleyError, which this module recognises by its string `code`. */
function parleyError(code: string, message = 'details from the server'): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

describe('describeError', () => {
  it('turns known codes into sentences', () => {
    assert.match(describeError(parleyError('TOKEN_EXPIRED')), /^Your invitation has expired/);
    assert.match(describeError(parleyError('ROOM_FULL')), /^This room is full/);
    assert.match(describeError(parleyError('REPLACED')), /^You joined this room from another tab or device/);
    assert.match(describeError(parleyError('DEV_MODE_OFF')), /^This server needs a token/);
    assert.match(describeError(parleyError('MEDIA_DENIED')), /camera or microphone/);
    assert.match(describeError(parleyError('CONNECTION_FAILED')), /Could not connect/);
  });

  it('falls back to a sentence that includes the message and code', () => {
    assert.equal(describeError(parleyError('SOMETHING_NEW', 'the flux capacitor broke')), 'Something went wrong: the flux capacitor broke (SOMETHING_NEW)');
    assert.equal(describeError(new Error('boom')), 'Something went wrong: boom');
    assert.match(describeError(undefined), /^Something went wrong/);
  });

  it('explains camera failures by their DOMException name', () => {
    assert.match(describeError(new DOMException('denied', 'NotAllowedError')), /blocked the camera/);
    assert.match(describeCameraError(new DOMException('none', 'NotFoundError')), /No camera was found/);
    assert.match(describeCameraError(new DOMException('busy', 'NotReadableError')), /Another app/);
    assert.match(describeCameraError(new Error('odd')), /could not be started: odd/);
  });
});

describe('needsToken', () => {
  it('is true only when the server wants a token', () => {
    assert.equal(needsToken(parleyError('DEV_MODE_OFF')), true);
    assert.equal(needsToken(parleyError('TOKEN_MISSING')), true);
    assert.equal(needsToken(parleyError('ROOM_FULL')), false);
    assert.equal(needsToken(new DOMException('x', 'NotAllowedError')), false);
  });
});

describe('describeScreenShareError', () => {
  it('stays quiet when the user cancelled the picker and explains real failures', () => {
    assert.equal(describeScreenShareError(parleyError('MEDIA_DENIED')), undefined);
    assert.match(describeScreenShareError(parleyError('PERMISSION_DENIED')) ?? '', /token does not allow sharing/);
    assert.match(describeScreenShareError(new Error('the screen capture gave no video track')) ?? '', /^Your screen could not be shared: the screen capture gave no video track\./);
  });
});
