/** The named STUN/TURN error codes: the RFCs' numbers and phrases, and the error responses built from them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readErrorCode } from '../../src/turn/attributes.ts';
import { errorWriter, reasonPhrase, StunError } from '../../src/turn/error-codes.ts';
import { decodeStun, StunClass, StunMethod, StunWriter } from '../../src/turn/stun-message.ts';

describe('STUN error codes', () => {
  test('each name carries the number and reason phrase of RFC 8489 section 14.8 and RFC 8656 section 19', () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(StunError).map(([name, error]) => [name, [error.code, error.reason]])),
      {
        BadRequest: [400, 'Bad Request'],
        Unauthorized: [401, 'Unauthorized'],
        Forbidden: [403, 'Forbidden'],
        UnknownAttribute: [420, 'Unknown Attribute'],
        AllocationMismatch: [437, 'Allocation Mismatch'],
        StaleNonce: [438, 'Stale Nonce'],
        AddressFamilyNotSupported: [440, 'Address Family not Supported'],
        WrongCredentials: [441, 'Wrong Credentials'],
        UnsupportedTransport: [442, 'Unsupported Transport Protocol'],
        PeerAddressFamilyMismatch: [443, 'Peer Address Family Mismatch'],
        AllocationQuotaReached: [486, 'Allocation Quota Reached'],
        InsufficientCapacity: [508, 'Insufficient Capacity'],
      },
    );
  });

  test('codes are unique and in the error range', () => {
    const codes = Object.values(StunError).map((error) => error.code);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.ok(code >= 300 && code <= 699, `${code}`);
  });

  test('a detail follows the phrase after a colon', () => {
    assert.equal(reasonPhrase(StunError.BadRequest), 'Bad Request');
    assert.equal(reasonPhrase(StunError.BadRequest, 'XOR-PEER-ADDRESS is required'), 'Bad Request: XOR-PEER-ADDRESS is required');
    assert.equal(reasonPhrase(StunError.Unauthorized, 'credentials expired'), 'Unauthorized: credentials expired');
  });

  test('errorWriter answers the request: same method and transaction, class error, ERROR-CODE', () => {
    const request = decodeStun(new StunWriter(StunMethod.ChannelBind, StunClass.Request, Buffer.alloc(12, 7)).finish())!;
    const response = decodeStun(errorWriter(request, StunError.InsufficientCapacity, 'no relay port free').finish())!;
    assert.equal(response.method, StunMethod.ChannelBind);
    assert.equal(response.cls, StunClass.ErrorResponse);
    assert.deepEqual(response.transactionId, Buffer.alloc(12, 7));
    assert.deepEqual(readErrorCode(response), { code: 508, reason: 'Insufficient Capacity: no relay port free' });
  });
});
