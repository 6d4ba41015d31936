/**
 * Endpoints for the SDK's pre-call network test (`detectNetworkQuality`): a tiny latency probe, a
 * download of N incompressible bytes, and an upload whose bytes are counted and discarded.
 *
 * They are public (a caller has no token before joining), so they are bounded three ways: bytes
 * per request, requests per minute per IP, and transfers in flight per IP (which caps how much of
 * the server's bandwidth one address can hold at a time). Cross-origin reads are allowed, like the
 * SDK itself, because a page on another origin runs the SDK against this server; the responses
 * carry no secrets. The upload is a CORS "simple" request (no custom headers), so no preflight.
 */
import { randomFillSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { describeIssues } from '@parley/protocol';
import { IpLimiter } from '../limits/ip-limiter.js';

export const NETWORK_TEST_PATH = '/api/network-test';
/** Largest download or upload one request may ask for. */
export const MAX_NETWORK_TEST_BYTES = 16 * 1024 * 1024;

const REQUEST_BURST = 40;
const TRANSFERS_IN_FLIGHT_PER_IP = 2;

const DownloadQuery = z
  .object({ bytes: z.coerce.number().int().min(1).max(MAX_NETWORK_TEST_BYTES) })
  .strict();

// Random bytes, so that no compressing proxy on the way can make the link look faster than it is.
const PATTERN = randomFillSync(Buffer.alloc(64 * 1024));

const testHeaders = { 'cache-control': 'no-store', 'access-control-allow-origin': '*' };

export interface NetworkTestHandler {
  /** Handles the request if `path` is one of the network-test routes; returns false otherwise. */
  handle(request: IncomingMessage, response: ServerResponse, path: string, ip: string): Promise<boolean>;
  sweep(): void;
}

export function createNetworkTestHandler(requestsPerMinute: number): NetworkTestHandler {
  const limiter = new IpLimiter({ perMinute: requestsPerMinute, burst: REQUEST_BURST, maxConcurrent: TRANSFERS_IN_FLIGHT_PER_IP });
  return {
    async handle(request, response, path, ip) {
      if (path !== NETWORK_TEST_PATH && !path.startsWith(`${NETWORK_TEST_PATH}/`)) return false;
      const route = `${request.method ?? 'GET'} ${path}`;
      const known = [`GET ${NETWORK_TEST_PATH}/latency`, `GET ${NETWORK_TEST_PATH}/download`, `POST ${NETWORK_TEST_PATH}/upload`];
      if (!known.includes(route)) {
        sendTestError(response, 404, 'NOT_FOUND', `no network-test route ${route} (there are: ${known.join(', ')})`);
        return true;
      }
      const admission = limiter.admit(ip);
      if (!admission.ok) {
        const why = admission.reason === 'rate' ? 'too many network-test requests' : 'too many network tests running from this address';
        sendTestError(response, 429, 'RATE_LIMITED', `${why}: retry later`);
        return true;
      }
      // The lease covers the whole transfer, which ends when the response does (or the client goes).
      response.once('close', () => admission.release());
      if (route.endsWith('/latency')) sendLatency(response);
      else if (route.endsWith('/download')) await sendDownload(request, response);
      else await receiveUpload(request, response);
      return true;
    },
    sweep: () => limiter.sweep(),
  };
}

function sendLatency(response: ServerResponse): void {
  response.writeHead(204, testHeaders);
  response.end();
}

async function sendDownload(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const query = Object.fromEntries(new URL(request.url ?? '/', 'http://x').searchParams);
  const parsed = DownloadQuery.safeParse(query);
  if (!parsed.success) {
    return sendTestError(response, 400, 'INVALID_MESSAGE', `download wants ?bytes=1..${MAX_NETWORK_TEST_BYTES}: ${describeIssues(parsed.error)}`);
  }
  let remaining = parsed.data.bytes;
  response.writeHead(200, { ...testHeaders, 'content-type': 'application/octet-stream', 'content-length': remaining });
  while (remaining > 0 && !response.destroyed) {
    const chunk = remaining >= PATTERN.length ? PATTERN : PATTERN.subarray(0, remaining);
    remaining -= chunk.length;
    if (!response.write(chunk)) await drainedOrClosed(response);
  }
  response.end();
}

async function receiveUpload(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const declared = Number(request.headers['content-length'] ?? 0);
  const bytes = declared > MAX_NETWORK_TEST_BYTES ? undefined : await countBody(request, MAX_NETWORK_TEST_BYTES);
  if (bytes === undefined) {
    // Answer at once and close the connection instead of reading the rest of an oversized body.
    response.setHeader('connection', 'close');
    return sendTestError(response, 413, 'MESSAGE_TOO_LARGE', `uploads are limited to ${MAX_NETWORK_TEST_BYTES} bytes`);
  }
  sendTestJson(response, 200, { bytes });
}

/** The body's length once it has all arrived, or undefined as soon as it exceeds `limit` (reading then stops). */
function countBody(request: IncomingMessage, limit: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= limit) return;
      request.off('data', onData);
      request.pause();
      resolve(undefined);
    };
    request.on('data', onData);
    request.once('end', () => resolve(bytes));
    // A client that goes away mid-upload gets no answer; nothing is left waiting either.
    request.once('close', () => resolve(bytes));
    request.once('error', () => resolve(undefined));
  });
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

function sendTestJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...testHeaders, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendTestError(response: ServerResponse, status: number, code: string, message: string): void {
  sendTestJson(response, status, { error: { code, message } });
}
