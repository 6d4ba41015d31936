/**
 * Every error the server can send, with the meaning a client can rely on.
 * `fatal` errors are followed by the server closing the socket.
 */
export const ErrorCode = {
  /** The frame was not valid JSON. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** JSON, but not a message of the protocol (schema violation). */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** A `type` this server does not know. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** A protocol version (`v`) this server does not speak. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** A request id this connection already used. */
  DUPLICATE_ID: 'DUPLICATE_ID',
  /** A room message before a successful `join`. */
  NOT_JOINED: 'NOT_JOINED',
  /** A second `join` on the same connection. */
  ALREADY_JOINED: 'ALREADY_JOINED',
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** Bad signature, unknown key, malformed claims. */
  TOKEN_INVALID: 'TOKEN_INVALID',
  /** The token was issued for another room than the one asked for. */
  TOKEN_WRONG_ROOM: 'TOKEN_WRONG_ROOM',
  /** The token lacks the grant the action needs. */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  ROOM_FULL: 'ROOM_FULL',
  /** The target participant is not in the room. */
  PARTICIPANT_NOT_FOUND: 'PARTICIPANT_NOT_FOUND',
  RATE_LIMITED: 'RATE_LIMITED',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** Another connection joined with the same identity; this one is closed. */
  REPLACED: 'REPLACED',
  /** A room admin removed this participant. */
  REMOVED: 'REMOVED',
  /** This needs the other topology (e.g. publishTrack in a P2P room). */
  WRONG_TOPOLOGY: 'WRONG_TOPOLOGY',
  /** The SFU could not use an SDP (no common codec, wrong m-lines). */
  MEDIA_REJECTED: 'MEDIA_REJECTED',
  /**
   * A `subscriberAnswer` to an offer that is not the one waiting (an older `offerId`, or one
   * already answered: a re-sent offer answered twice). Nothing changed; harmless, since the offer
   * that counts is already answered or on its way.
   */
  STALE_ANSWER: 'STALE_ANSWER',
  /** A track id this participant does not publish or receive. */
  TRACK_NOT_FOUND: 'TRACK_NOT_FOUND',
  /** The server is shutting down. */
  SERVER_SHUTDOWN: 'SERVER_SHUTDOWN',
  /** Cluster mode: the node the room lives on cannot be reached or the room placed now; retry. */
  ROOM_UNAVAILABLE: 'ROOM_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodes = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

/** WebSocket close codes the server uses (RFC 6455 section 7.4 plus the private 4000 range). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** Authentication failed: the client must not retry with the same token. */
  AUTH_FAILED: 4001,
  /** Replaced by a newer connection of the same identity: do not reconnect. */
  REPLACED: 4002,
  /** Removed by a room admin: do not reconnect. */
  REMOVED: 4003,
  ROOM_FULL: 4004,
} as const;
