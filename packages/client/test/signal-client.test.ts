import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { SignalClient } from '../src/signal-client.ts';

/** A WebSocket whose server never answers, like one opened while the network is down. */
class UnansweredSocket {
  static readonly opened: UnansweredSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  readyState = UnansweredSocket.CONNECTING;
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;

  constructor(readonly url: string) {
    UnansweredSocket.opened.push(this);
  }

  close(): void {
    this.closed = true;
    this.onclose?.({ code: 1006, reason: '' });
  }
}

describe('SignalClient.open', () => {
  const realWebSocket = globalThis.WebSocket;
  beforeEach(() => {
    (globalThis as { WebSocket: unknown }).WebSocket = UnansweredSocket;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
    (globalThis as { WebSocket: unknown }).WebSocket = realWebSocket;
  });

  test('a server that never answers: CONNECTION_FAILED after 8 s and the socket is closed', async () => {
    let outcome: unknown = 'pending';
    const opening = new SignalClient().open('wss://parley.example/ws').then(
      () => 'opened',
      (error: unknown) => error,
    );
    void opening.then((value) => (outcome = value));
    mock.timers.tick(7_999);
    await Promise.resolve();
    assert.equal(outcome, 'pending', 'still waiting just before 8 s');
    mock.timers.tick(1);
    const error = (await opening) as { code?: string; message?: string };
    assert.equal(error.code, 'CONNECTION_FAILED');
    assert.match(error.message ?? '', /did not answer within 8 s/);
    assert.equal(UnansweredSocket.opened.at(-1)?.closed, true);
  });

  test('a socket that opens in time is not closed by the timer', async () => {
    const client = new SignalClient();
    const opening = client.open('wss://parley.example/ws');
    const socket = UnansweredSocket.opened.at(-1)!;
    socket.readyState = UnansweredSocket.OPEN;
    socket.onopen?.();
    await opening;
    mock.timers.tick(10_000);
    assert.equal(socket.closed, false);
  });
});
