import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ErrorCode } from '@parley/protocol';
import { knownErrorCode, mediaError, ParleyError } from '../src/errors.ts';
import { log, setLogLevel } from '../src/log.ts';

describe('ParleyError', () => {
  test('keeps the error it wraps as its cause', () => {
    const denied = Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
    const error = mediaError(denied, 'camera');
    assert.equal(error.code, 'MEDIA_DENIED');
    assert.equal(error.cause, denied);
  });

  test('an HTTP error body keeps a code the SDK knows, anything else reads as INVALID_RESPONSE', () => {
    assert.equal(knownErrorCode('DEV_MODE_OFF'), 'DEV_MODE_OFF');
    assert.equal(knownErrorCode(ErrorCode.RATE_LIMITED), 'RATE_LIMITED');
    assert.equal(knownErrorCode('NOT_A_CODE'), 'INVALID_RESPONSE');
    assert.equal(knownErrorCode(42), 'INVALID_RESPONSE');
    assert.equal(knownErrorCode(undefined), 'INVALID_RESPONSE');
  });
});

describe('the SDK log', () => {
  const original = console.debug;
  afterEach(() => {
    console.debug = original;
    setLogLevel('warn');
  });

  test('debug lines show only from the debug level on', () => {
    const seen: unknown[][] = [];
    console.debug = (...args: unknown[]) => void seen.push(args);
    log.debug('hidden at the default level');
    setLogLevel('debug');
    const cause = new Error('socket closed');
    log.debug('a quality report was not delivered', cause);
    assert.deepEqual(seen, [['parley: a quality report was not delivered', cause]]);
  });

  test('an unknown level is refused and the level stays', () => {
    assert.throws(() => setLogLevel('loud' as never), RangeError);
  });
});
