/**
 * Pre-call network test against a Parley server's /api/network-test endpoints: latency (median of
 * several round trips), then download and upload throughput. Transfers grow until two take long
 * enough to measure (or the size cap is reached), and the whole test stays within `durationMs`.
 */
import { knownErrorCode, ParleyError } from './errors.js';

export type NetworkQuality = 'excellent' | 'good' | 'fair' | 'poor';

export interface NetworkMeasurement {
  downloadMbps: number;
  uploadMbps: number;
  latencyMs: number;
}

export interface NetworkQualityResult extends NetworkMeasurement {
  quality: NetworkQuality;
}

export interface NetworkQualityOptions {
  /** The Parley server, e.g. `https://calls.example.com` (a `wss://` URL works too). */
  url: string;
  /** Upper bound for the whole test; default 5000 ms. */
  durationMs?: number;
  signal?: AbortSignal;
}

/** Each level needs all three: download above, upload above, latency below. */
const THRESHOLDS: ReadonlyArray<{ quality: NetworkQuality; downloadMbps: number; uploadMbps: number; latencyMs: number }> = [
  { quality: 'excellent', downloadMbps: 5, uploadMbps: 2, latencyMs: 50 },
  { quality: 'good', downloadMbps: 2, uploadMbps: 1, latencyMs: 150 },
  { quality: 'fair', downloadMbps: 1, uploadMbps: 0.5, latencyMs: 300 },
];

export function classifyNetworkQuality(measurement: NetworkMeasurement): NetworkQuality {
  const level = THRESHOLDS.find(
    (t) => measurement.downloadMbps > t.downloadMbps && measurement.uploadMbps > t.uploadMbps && measurement.latencyMs < t.latencyMs,
  );
  return level?.quality ?? 'poor';
}

const DEFAULT_DURATION_MS = 5000;
/** Time past `durationMs` for the last transfer to be cut and its answer read, before the test gives up. */
const GRACE_MS = 1000;
const LATENCY_SAMPLES = 5;
/** A transfer this long says more about the link than about request overhead. */
const MEASURABLE_TRANSFER_MS = 300;
const FIRST_DOWNLOAD_BYTES = 64 * 1024;
const FIRST_UPLOAD_BYTES = 32 * 1024;
/** The server's cap (MAX_NETWORK_TEST_BYTES). */
const MAX_TRANSFER_BYTES = 16 * 1024 * 1024;
const GROWTH = 4;
const RANDOM_BLOCK_BYTES = 65536;

/**
 * Measures the link to a Parley server and classifies it. Rejects with a `ParleyError`
 * (`CONNECTION_FAILED`, `REQUEST_TIMEOUT`, `RATE_LIMITED`, ...), or with `signal.reason` when aborted.
 */
export async function detectNetworkQuality(options: NetworkQualityOptions): Promise<NetworkQualityResult> {
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  if (!(durationMs > 0 && Number.isFinite(durationMs))) {
    throw new ParleyError('INVALID_ARGUMENT', `durationMs must be a positive number of milliseconds, not ${String(durationMs)}`);
  }
  let base: URL;
  try {
    base = new URL('/api/network-test/', options.url.replace(/^ws/, 'http'));
  } catch {
    throw new ParleyError('INVALID_ARGUMENT', `url must be the Parley server's address (https://host:port), not ${JSON.stringify(options.url)}`);
  }
  options.signal?.throwIfAborted();
  const deadline = Date.now() + durationMs;
  const giveUp = AbortSignal.timeout(Math.ceil(durationMs + GRACE_MS));
  const probe = new Probe(base, options.signal ? AbortSignal.any([options.signal, giveUp]) : giveUp);
  try {
    // Latency first: the upload measurement uses it, and it needs the least of the time budget.
    const latencyMs = await probe.latency(Date.now() + durationMs * 0.2);
    const downloadDeadline = Date.now() + (deadline - Date.now()) / 2;
    const downloadMbps = await probe.throughput((bytes, cut) => probe.download(bytes, cut), FIRST_DOWNLOAD_BYTES, downloadDeadline);
    const uploadMbps = await probe.throughput((bytes, cut) => probe.upload(bytes, latencyMs, cut), FIRST_UPLOAD_BYTES, deadline);
    const measurement = { downloadMbps: round(downloadMbps), uploadMbps: round(uploadMbps), latencyMs: Math.round(latencyMs) };
    return { quality: classifyNetworkQuality(measurement), ...measurement };
  } catch (error) {
    options.signal?.throwIfAborted();
    if (giveUp.aborted) throw new ParleyError('REQUEST_TIMEOUT', `the network test got no answer from ${base.origin} within ${durationMs + GRACE_MS} ms`);
    throw error;
  }
}

/** One transfer: how many bytes moved, over how many milliseconds of transfer time. */
interface Transfer {
  bytes: number;
  ms: number;
}

class Probe {
  constructor(
    private readonly base: URL,
    /** Aborts when the caller aborts or the test runs out of time. */
    private readonly signal: AbortSignal,
  ) {}

  /** Median round trip of a few tiny requests (at least two), after one that opens the connection. */
  async latency(softDeadline: number): Promise<number> {
    await this.request('latency', {});
    const samples: number[] = [];
    while (samples.length < LATENCY_SAMPLES && (samples.length < 2 || Date.now() < softDeadline)) {
      const started = performance.now();
      await this.request('latency', {});
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]!;
  }

  /**
   * Runs transfers of growing size until two are measurable, or the size cap or the deadline
   * comes; a transfer cut by the deadline still counts for what it moved. Mbps of the fastest
   * measurable transfer (or of the last one when none was). Two, because one stall (the browser
   * or the server busy for 300 ms, as on a loaded 2-core machine: 32 KiB "uploaded" at
   * 0.84 Mbit/s over loopback) makes a small transfer look measurable and the link look slow; on a
   * slow link the second costs one more transfer of the same size.
   */
  async throughput(transfer: (bytes: number, cut: AbortSignal) => Promise<Transfer>, firstBytes: number, deadline: number): Promise<number> {
    let bytes = firstBytes;
    let measurable = 0;
    let fastest = 0;
    for (;;) {
      const cut = AbortSignal.any([this.signal, AbortSignal.timeout(Math.max(0, Math.ceil(deadline - Date.now())))]);
      const last = await transfer(bytes, cut);
      this.signal.throwIfAborted();
      const mbps = last.ms > 0 ? (last.bytes * 8) / (last.ms * 1000) : 0;
      const outOfRoom = bytes >= MAX_TRANSFER_BYTES || Date.now() >= deadline;
      if (last.ms >= MEASURABLE_TRANSFER_MS) {
        measurable += 1;
        fastest = Math.max(fastest, mbps);
        if (measurable >= 2 || outOfRoom) return fastest;
        continue; // the same size again: a stall or the link?
      }
      if (outOfRoom) return Math.max(fastest, mbps);
      bytes = Math.min(MAX_TRANSFER_BYTES, bytes * GROWTH);
    }
  }

  /**
   * Timed from the first chunk of the body to the last, counting the bytes after the first chunk:
   * neither the request's round trip nor whatever arrived with the headers inflates the figure.
   */
  async download(bytes: number, cut: AbortSignal): Promise<Transfer> {
    let started: number | undefined;
    let received = 0;
    try {
      const response = await this.fetch(`download?bytes=${bytes}`, { signal: cut });
      const reader = response.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (started === undefined) started = performance.now();
        else received += value.byteLength;
      }
    } catch (error) {
      if (!cut.aborted || this.signal.aborted) throw error;
    }
    return { bytes: received, ms: started === undefined ? 0 : performance.now() - started };
  }

  /**
   * The upload is timed until the server's answer, which adds about one round trip; that is taken
   * off again (but never more than half the time, in case the latency sample was unlucky).
   * A cut upload moved an unknown number of bytes: it counts as nothing moved.
   */
  async upload(bytes: number, latencyMs: number, cut: AbortSignal): Promise<Transfer> {
    const body = randomBytes(bytes);
    const started = performance.now();
    try {
      const response = await this.fetch('upload', { method: 'POST', body, signal: cut });
      const { bytes: counted } = (await response.json()) as { bytes: number };
      const elapsed = performance.now() - started;
      return { bytes: counted, ms: Math.max(elapsed - latencyMs, elapsed / 2) };
    } catch (error) {
      if (!cut.aborted || this.signal.aborted) throw error;
      return { bytes: 0, ms: performance.now() - started };
    }
  }

  private async request(path: string, init: RequestInit): Promise<void> {
    const response = await this.fetch(path, init);
    await response.arrayBuffer();
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    const url = new URL(path, this.base);
    let response: Response;
    try {
      response = await fetch(url, { cache: 'no-store', signal: this.signal, ...init });
    } catch (error) {
      if ((init.signal ?? this.signal).aborted) throw error;
      throw new ParleyError('CONNECTION_FAILED', `the network test could not reach ${this.base.origin}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (response.ok) return response;
    // A body that is not JSON (a proxy's error page): the status line below says enough.
    const body = (await response.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
    throw new ParleyError(knownErrorCode(body?.error?.code), body?.error?.message ?? `network test request ${url.pathname} failed with HTTP ${response.status}`);
  }
}

/** Incompressible content, so no compressing proxy on the way can flatter the upload. */
function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  const block = bytes.subarray(0, Math.min(length, RANDOM_BLOCK_BYTES));
  crypto.getRandomValues(block); // at most 64 KiB per call
  for (let offset = block.length; offset < length; offset += block.length) bytes.set(block.subarray(0, length - offset), offset);
  return bytes;
}

function round(mbps: number): number {
  return Math.round(mbps * 100) / 100;
}
