import * as z from 'zod/mini';
import { ErrorCode } from './errors.js';
import { ClientMessage, PROTOCOL_VERSION, ServerMessage, clientMessageTypes } from './messages.js';

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: ErrorCode; reason: string; /** The request id, when one could be read. */ id?: string };

const Envelope = z.partial(z.object({ v: z.unknown(), type: z.unknown(), id: z.unknown() }));

/**
 * Reads one client frame. Each failure names the first thing wrong, in the order a client
 * would want to fix it: not JSON, wrong version, unknown type, then the message's own fields.
 */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.MALFORMED_JSON, reason: 'the message is not valid JSON' };
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success || json === null || Array.isArray(json)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, reason: 'a message is a JSON object' };
  }
  const { v, type, id } = envelope.data;
  const requestId = typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
  const fail = (code: ErrorCode, reason: string): ParseResult<ClientMessage> =>
    requestId === undefined ? { ok: false, code, reason } : { ok: false, code, reason, id: requestId };
  if (v !== PROTOCOL_VERSION) {
    return fail(ErrorCode.UNSUPPORTED_VERSION, `protocol version ${JSON.stringify(v)} is not supported; this server speaks v${PROTOCOL_VERSION}`);
  }
  if (typeof type !== 'string' || !clientMessageTypes.has(type)) {
    return fail(ErrorCode.UNKNOWN_TYPE, `unknown message type ${JSON.stringify(type)}`);
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) return fail(ErrorCode.INVALID_MESSAGE, describeIssues(parsed.error));
  return { ok: true, message: parsed.data };
}

export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.MALFORMED_JSON, reason: 'the message is not valid JSON' };
  }
  const parsed = ServerMessage.safeParse(json);
  if (!parsed.success) return { ok: false, code: ErrorCode.INVALID_MESSAGE, reason: describeIssues(parsed.error) };
  return { ok: true, message: parsed.data };
}

export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'message'}: ${issue.message}`)
    .join('; ');
}
