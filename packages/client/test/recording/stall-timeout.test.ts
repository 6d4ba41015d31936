import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import { StallTimeoutHttpStack, UploadStalledError } from '../../src/recording/stall-timeout.ts';

/** A request that answers only when told to, and reports progress when told to. */
class FakeRequest implements HttpRequest {
  aborted = false;
  answer: ((response: HttpResponse) => void) | undefined;
  progress: ((bytes: number) => void) | undefined;
  getMethod = () => 'PATCH';
  getURL = () => 'http://127.0.0.1/x';
  setHeader = () => undefined;
  getHeader = () => undefined;
  setProgressHandler(handler: (bytes: number) => void) {
    this.progress = handler;
  }
  send(): Promise<HttpResponse> {
    return new Promise((resolve) => (this.answer = resolve));
  }
  abort(): Promise<void> {
    this.aborted = true;
    return Promise.resolve();
  }
  getUnderlyingObject = () => undefined;
}

function stackOf(request: FakeRequest): HttpStack {
  return { createRequest: () => request, getName: () => 'fake' };
}

const response: HttpResponse = { getStatus: () => 204, getHeader: () => undefined, getBody: () => '', getUnderlyingObject: () => undefined };

describe('StallTimeoutHttpStack', () => {
  test('a request with no progress and no answer is aborted and fails after the stall time', async () => {
    const inner = new FakeRequest();
    const request = new StallTimeoutHttpStack(50, stackOf(inner)).createRequest('PATCH', 'http://127.0.0.1/x');
    const started = Date.now();
    await assert.rejects(request.send(null), UploadStalledError);
    assert.ok(Date.now() - started >= 45, 'not before the stall time');
    assert.equal(inner.aborted, true, 'the underlying request is aborted');
  });

  test('progress keeps a slow request alive; its answer resolves it', async () => {
    const inner = new FakeRequest();
    const request = new StallTimeoutHttpStack(400, stackOf(inner)).createRequest('PATCH', 'http://127.0.0.1/x');
    const seen: number[] = [];
    request.setProgressHandler((bytes) => seen.push(bytes));
    const sent = request.send(null);
    // 5 x 100 ms of progress: 500 ms in all, longer than the 400 ms stall time, each step within it.
    for (let i = 1; i <= 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      inner.progress?.(i * 1000);
    }
    inner.answer?.(response);
    assert.equal((await sent).getStatus(), 204);
    assert.deepEqual(seen, [1000, 2000, 3000, 4000, 5000], "tus's own progress handler still hears every step");
    assert.equal(inner.aborted, false);
  });
});
