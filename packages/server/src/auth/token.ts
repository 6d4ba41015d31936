import { SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { DisplayName, ErrorCode, Grants, Identity, RoomConfig, RoomName, describeIssues, type Grants as GrantSet, type RoomConfig as RoomSettings } from '@parley/protocol';

export const defaultGrants: GrantSet = {
  canPublish: true,
  canSubscribe: true,
  canPublishData: true,
  roomAdmin: false,
  canRecord: false,
};

/** Claims of a Parley access token (an HS256 JWT; `iss` names the API key that signed it). */
export const TokenClaims = z.object({
  iss: z.string().min(1),
  sub: Identity,
  name: z.optional(DisplayName),
  room: RoomName,
  grants: Grants,
  /** Settings for the room if this participant creates it (first to join). */
  roomConfig: z.optional(RoomConfig),
  exp: z.number(),
  iat: z.number().optional(),
  nbf: z.number().optional(),
  jti: z.string().optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

export interface TokenRequest {
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  name?: string;
  ttlSeconds: number;
  grants?: Partial<GrantSet>;
  roomConfig?: RoomSettings;
}

const encoder = new TextEncoder();

export async function createToken(request: TokenRequest): Promise<string> {
  for (const [field, schema, value] of [['room', RoomName, request.room], ['identity', Identity, request.identity]] as const) {
    const checked = schema.safeParse(value);
    if (!checked.success) throw new RangeError(`invalid ${field}: ${describeIssues(checked.error)}`);
  }
  if (!(request.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
  return new SignJWT({
    name: request.name ?? request.identity,
    room: request.room,
    grants: { ...defaultGrants, ...request.grants },
    ...(request.roomConfig ? { roomConfig: request.roomConfig } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(request.apiKey)
    .setSubject(request.identity)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.round(request.ttlSeconds))
    .setJti(crypto.randomUUID())
    .sign(encoder.encode(request.apiSecret));
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; code: typeof ErrorCode.TOKEN_MISSING | typeof ErrorCode.TOKEN_EXPIRED | typeof ErrorCode.TOKEN_INVALID; reason: string };

/** Verifies signature (against the secret of the key named by `iss`), expiry and claim shapes. */
export async function verifyToken(token: string | undefined, apiKeys: Readonly<Record<string, string>>): Promise<TokenCheck> {
  if (token === undefined || token.length === 0) return { ok: false, code: ErrorCode.TOKEN_MISSING, reason: 'an access token is required' };
  let issuer: string | undefined;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: 'the token is not a JWT' };
  }
  const secret = issuer === undefined ? undefined : apiKeys[issuer];
  if (secret === undefined) return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: 'the token was signed with an unknown API key' };
  try {
    const { payload } = await jwtVerify(token, encoder.encode(secret), { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    const claims = TokenClaims.safeParse(payload);
    if (!claims.success) return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: `token claims: ${describeIssues(claims.error)}` };
    return { ok: true, claims: claims.data };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, code: ErrorCode.TOKEN_EXPIRED, reason: 'the token has expired' };
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: 'the token signature is invalid' };
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: `token claim ${error.claim} is invalid: ${error.reason}` };
    }
    return { ok: false, code: ErrorCode.TOKEN_INVALID, reason: 'the token could not be verified' };
  }
}

/** Parses `30s`, `10m`, `1h`, `2d` or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  if (!match) throw new RangeError(`invalid duration ${JSON.stringify(text)}: use e.g. 30s, 10m, 1h, 2d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) throw new RangeError('a duration must be positive');
  return seconds;
}
