import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, parseClientMessage, parseServerMessage, PROTOCOL_VERSION, versioned } from '../src/index.ts';

const parse = (value: unknown) => parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseClientMessage', () => {
  test('accepts a join', () => {
    const result = parse({ v: 1, id: 'a', type: 'join', token: 'x', room: 'demo' });
    assert.equal(result.ok, true);
  });

  test("a join may ask to receive the others' voices mixed", () => {
    const mixed = parse({ v: 1, id: 'a', type: 'join', token: 'x', receive: 'mixed' });
    assert.ok(mixed.ok && mixed.message.type === 'join' && mixed.message.receive === 'mixed');
    const refused = parse({ v: 1, id: 'a', type: 'join', token: 'x', receive: 'everything' });
    assert.ok(!refused.ok && refused.code === ErrorCode.INVALID_MESSAGE && /^receive: /.test(refused.reason), JSON.stringify(refused));
  });

  test('names the first problem, in order: JSON, object, version, type, fields', () => {
    const cases: Array<[unknown, ErrorCode]> = [
      ['{not json', ErrorCode.MALFORMED_JSON],
      ['[1,2]', ErrorCode.INVALID_MESSAGE],
      ['null', ErrorCode.INVALID_MESSAGE],
      ['"text"', ErrorCode.INVALID_MESSAGE],
      [{ v: 2, id: 'a', type: 'join' }, ErrorCode.UNSUPPORTED_VERSION],
      [{ id: 'a', type: 'join' }, ErrorCode.UNSUPPORTED_VERSION],
      [{ v: 1, id: 'a', type: 'teleport' }, ErrorCode.UNKNOWN_TYPE],
      [{ v: 1, id: 'a', type: '__proto__' }, ErrorCode.UNKNOWN_TYPE],
      [{ v: 1, type: 'ping' }, ErrorCode.INVALID_MESSAGE],
      [{ v: 1, id: 'a', type: 'join', room: 'has space' }, ErrorCode.INVALID_MESSAGE],
      [{ v: 1, id: 'a', type: 'signal', to: 'bob', payload: {} }, ErrorCode.INVALID_MESSAGE],
      [{ v: 1, id: 'a', type: 'setTrackMuted', source: 'hologram', muted: true }, ErrorCode.INVALID_MESSAGE],
      [{ v: 1, id: 'a', type: 'sendData', payload: 'x'.repeat(16 * 1024 + 1) }, ErrorCode.INVALID_MESSAGE],
      [{ v: 1, id: 'x'.repeat(65), type: 'ping' }, ErrorCode.INVALID_MESSAGE],
    ];
    for (const [input, code] of cases) {
      const result = parse(input);
      assert.equal(result.ok, false, JSON.stringify(input));
      if (!result.ok) assert.equal(result.code, code, `${JSON.stringify(input).slice(0, 80)} -> ${result.reason}`);
    }
  });

  test('keeps the request id of a refused message so the error can answer it', () => {
    const result = parse({ v: 1, id: 'req-7', type: 'teleport' });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.id, 'req-7');
  });

  test('a signal carries a description or a candidate, with bounded fields', () => {
    assert.equal(parse({ v: 1, id: 'a', type: 'signal', to: 'bob', payload: { candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } } }).ok, true);
    assert.equal(parse({ v: 1, id: 'a', type: 'signal', to: 'bob', payload: { description: { type: 'offer', sdp: 'v=0' }, trackSources: { '0': 'camera' } } }).ok, true);
    assert.equal(parse({ v: 1, id: 'a', type: 'signal', to: 'bob', payload: { description: { type: 'hack', sdp: 'v=0' } } }).ok, false);
    assert.equal(parse({ v: 1, id: 'a', type: 'signal', to: 'bob', payload: { description: { type: 'offer', sdp: 'x'.repeat(60_001) } } }).ok, false);
  });
});

describe('subscriber offer numbers', () => {
  test('a subscriberAnswer may name the offer it answers (a positive integer), or not', () => {
    assert.equal(parse({ v: 1, id: 'a', type: 'subscriberAnswer', sdp: 'v=0', offerId: 3 }).ok, true);
    assert.equal(parse({ v: 1, id: 'a', type: 'subscriberAnswer', sdp: 'v=0' }).ok, true);
    for (const offerId of [0, -1, 1.5, '3']) assert.equal(parse({ v: 1, id: 'a', type: 'subscriberAnswer', sdp: 'v=0', offerId }).ok, false, String(offerId));
  });
  test('a subscriberOffer carries its number; STALE_ANSWER is an error code the SDK accepts', () => {
    const offer = { v: PROTOCOL_VERSION, type: 'subscriberOffer', sdp: 'v=0', tracks: [] };
    assert.equal(parseServerMessage(JSON.stringify({ ...offer, offerId: 1 })).ok, true);
    assert.equal(parseServerMessage(JSON.stringify(offer)).ok, false);
    const stale = parseServerMessage(JSON.stringify({ v: PROTOCOL_VERSION, type: 'error', replyTo: '4', code: ErrorCode.STALE_ANSWER, message: 'x', fatal: false }));
    assert.ok(stale.ok && stale.message.type === 'error' && stale.message.code === 'STALE_ANSWER');
  });
});

describe('parseServerMessage', () => {
  test('validates what the SDK receives', () => {
    assert.equal(parseServerMessage(JSON.stringify({ v: PROTOCOL_VERSION, type: 'pong', replyTo: '1', time: 5 })).ok, true);
    assert.equal(parseServerMessage(JSON.stringify({ v: PROTOCOL_VERSION, type: 'error', code: 'NOPE', message: 'x', fatal: false })).ok, false);
    assert.equal(parseServerMessage('nope').ok, false);
  });

  test('versioned() stamps the protocol version on what the server builds, and the SDK accepts it', () => {
    const message = versioned({ type: 'participantLeft', identity: 'bob', reason: 'left' });
    assert.equal(message.v, PROTOCOL_VERSION);
    const parsed = parseServerMessage(JSON.stringify(message));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.message, message);
  });
});
