/**
 * The STUN/TURN error codes this server answers with (RFC 8489 section 14.8, RFC 8656 section 19),
 * named in one place so handlers say `StunError.AllocationMismatch` instead of `437, '...'`.
 * The reason phrases are the RFCs' own; a handler may append a detail after a colon
 * (`Bad Request: REQUESTED-TRANSPORT is required`).
 */
import { writeErrorCode } from './attributes.js';
import { StunClass, StunWriter, type StunMessage } from './stun-message.js';

export interface StunErrorCode {
  readonly code: number;
  readonly reason: string;
}

export const StunError = {
  BadRequest: { code: 400, reason: 'Bad Request' },
  Unauthorized: { code: 401, reason: 'Unauthorized' },
  Forbidden: { code: 403, reason: 'Forbidden' },
  UnknownAttribute: { code: 420, reason: 'Unknown Attribute' },
  AllocationMismatch: { code: 437, reason: 'Allocation Mismatch' },
  StaleNonce: { code: 438, reason: 'Stale Nonce' },
  AddressFamilyNotSupported: { code: 440, reason: 'Address Family not Supported' },
  WrongCredentials: { code: 441, reason: 'Wrong Credentials' },
  UnsupportedTransport: { code: 442, reason: 'Unsupported Transport Protocol' },
  PeerAddressFamilyMismatch: { code: 443, reason: 'Peer Address Family Mismatch' },
  AllocationQuotaReached: { code: 486, reason: 'Allocation Quota Reached' },
  InsufficientCapacity: { code: 508, reason: 'Insufficient Capacity' },
} as const satisfies Record<string, StunErrorCode>;

/** The reason phrase, with an optional detail after a colon. */
export function reasonPhrase(error: StunErrorCode, detail?: string): string {
  return detail === undefined ? error.reason : `${error.reason}: ${detail}`;
}

/** An error response to `request` (same method and transaction) carrying ERROR-CODE; the caller adds attributes and seals it. */
export function errorWriter(request: StunMessage, error: StunErrorCode, detail?: string): StunWriter {
  return writeErrorCode(new StunWriter(request.method, StunClass.ErrorResponse, request.transactionId), error.code, reasonPhrase(error, detail));
}
