import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from '@parley/protocol';
import { defaultGrants, silentLogger, startServer, verifyToken, DEV_API_KEY, DEV_API_SECRET, type RunningServer } from '../../src/index.ts';
import { TEST_KEY, TEST_SECRET, TestClient, startTestServer } from '../helpers.ts';

const postJson = (server: RunningServer, body: string, contentType = 'application/json') =>
  fetch(`${server.url}/api/dev/token`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('dev-mode server', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ port: 0, turn: { enabled: false } }, { logger: silentLogger });
  });
  after(() => server.close());

  test('is in dev mode with no configuration on loopback, and says so at /healthz', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    const health = (await response.json()) as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.equal(health.devMode, true);
    assert.equal(typeof health.version, 'string');
  });

  test('POST /api/dev/token mints a dev-key token that joins', async () => {
    const response = await postJson(server, JSON.stringify({ room: 'demo', identity: 'alice', name: 'Alice' }));
    assert.equal(response.status, 200);
    const { token } = (await response.json()) as { token: string };
    const check = await verifyToken(token, { [DEV_API_KEY]: DEV_API_SECRET });
    assert.equal(check.ok && check.claims.name, 'Alice');
    const client = await TestClient.open(server);
    assert.equal((await client.request({ type: 'join', token })).type, 'joined');
    client.close();
  });

  test('bad token requests get a status and a coded error', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [postJson(server, '{bad'), 400, 'MALFORMED_JSON'],
      [postJson(server, JSON.stringify({ room: 'bad room', identity: 'a' })), 400, 'INVALID_MESSAGE'],
      [postJson(server, JSON.stringify({ room: 'r', identity: 'a', ttlSeconds: 10 ** 9 })), 400, 'INVALID_MESSAGE'],
      [postJson(server, JSON.stringify({ room: 'r', identity: 'a', admin: true })), 400, 'INVALID_MESSAGE'],
      [postJson(server, JSON.stringify({ room: 'r', identity: 'a' }), 'text/plain'), 415, 'INVALID_MESSAGE'],
      [postJson(server, JSON.stringify({ room: 'r', identity: 'x'.repeat(20_000) })), 413, 'MESSAGE_TOO_LARGE'],
      [fetch(`${server.url}/api/nothing`), 404, 'NOT_FOUND'],
      [fetch(`${server.url}/`, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      assert.equal(response.status, status, code);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, code);
    }
  });

  test('serves the SDK as an ES module and the web app, with security headers; no path escapes', async () => {
    const sdk = await fetch(`${server.url}/sdk/parley.js`);
    assert.equal(sdk.status, 200);
    assert.match(sdk.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await sdk.text(), /export\s*\{[^}]*\bRoom\b/);
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/app\.js"><\/script>/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    // The recording compositor's clock is a Worker made from a Blob URL (frame-clock.ts).
    assert.match(page.headers.get('content-security-policy') ?? '', /worker-src 'self' blob:/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    for (const path of ['/..%2f..%2fpackage.json', '/sdk/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/nope.js', '/%00']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 404, path);
    }
  });

  test('only /ws upgrades to WebSocket', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/other`);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    assert.match(error.message, /404/);
  });
});

describe('production server', () => {
  test('has no dev token endpoint and refuses dev-key tokens', async () => {
    const server = await startTestServer();
    try {
      const response = await postJson(server, JSON.stringify({ room: 'r', identity: 'a' }));
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'DEV_MODE_OFF');
      const devToken = await new SignJWT({ room: 'r', grants: defaultGrants })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(DEV_API_KEY)
        .setSubject('a')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(DEV_API_SECRET));
      const client = await TestClient.open(server);
      const reply = await client.request({ type: 'join', token: devToken });
      assert.equal(reply.type === 'error' && reply.code, ErrorCode.TOKEN_INVALID);
    } finally {
      await server.close();
    }
  });

  test('an expired token is refused with TOKEN_EXPIRED', async () => {
    const server = await startTestServer();
    try {
      const expired = await new SignJWT({ room: 'r', grants: defaultGrants })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_KEY)
        .setSubject('a')
        .setExpirationTime(Math.floor(Date.now() / 1000) - 1)
        .sign(new TextEncoder().encode(TEST_SECRET));
      const client = await TestClient.open(server);
      const reply = await client.request({ type: 'join', token: expired });
      assert.equal(reply.type === 'error' && reply.code, ErrorCode.TOKEN_EXPIRED);
      assert.equal((await client.closed).code, CloseCode.AUTH_FAILED);
    } finally {
      await server.close();
    }
  });

  test('serves HTTPS and WSS with a generated self-signed certificate', async () => {
    const server = await startTestServer({ tls: { selfSigned: true } });
    try {
      assert.match(server.url, /^https:/);
      const body = await new Promise<string>((resolve, reject) => {
        httpsRequest(`${server.url}/healthz`, { rejectUnauthorized: false }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk));
          response.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      assert.equal((JSON.parse(body) as { status: string }).status, 'ok');
      assert.match(server.wsUrl, /^wss:/);
      const client = await TestClient.open(server);
      assert.equal((await client.request({ type: 'ping' })).type, 'pong');
      client.close();
    } finally {
      await server.close();
    }
  });
});

describe('CLI', () => {
  const cli = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 });
  /** `run` without blocking, so that several can run at once: its exit code and what it printed on stderr. */
  const runAsync = (args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (status) => resolve({ status, stderr }));
    });

  test('parley token prints a token with the asked room, identity, ttl and grants', async () => {
    const result = run(['token', '--room', 'demo', '--identity', 'carol', '--ttl', '10m', '--grant', 'canSubscribe,roomAdmin'], { PARLEY_API_KEY: TEST_KEY, PARLEY_API_SECRET: TEST_SECRET });
    assert.equal(result.status, 0, result.stderr);
    const check = await verifyToken(result.stdout.trim(), { [TEST_KEY]: TEST_SECRET });
    assert.equal(check.ok, true);
    if (!check.ok) return;
    assert.equal(check.claims.room, 'demo');
    assert.equal(check.claims.sub, 'carol');
    assert.ok(Math.abs(check.claims.exp - (Date.now() / 1000 + 600)) < 10);
    assert.deepEqual(check.claims.grants, { canPublish: false, canSubscribe: true, canPublishData: false, roomAdmin: true, canRecord: false });
  });

  test('parley token refuses bad input with exit code 2 and a message', async () => {
    // Independent processes (~1 s of start-up each), so run at once.
    const cases = [
      [['token', '--room', 'demo'], /--room and --identity/],
      [['token', '--room', 'bad room', '--identity', 'a'], /invalid room/],
      [['token', '--room', 'r', '--identity', 'a', '--ttl', 'forever'], /invalid duration/],
      [['token', '--room', 'r', '--identity', 'a', '--grant', 'canFly'], /unknown grant canFly/],
      [['teleport'], /unknown command/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runAsync([...args])));
    cases.forEach(([args, message], i) => {
      assert.equal(results[i]!.status, 2, args.join(' '));
      assert.match(results[i]!.stderr, message);
    });
  });

  /** `parley start` in a child process; resolves with it and its URL once it printed it. */
  const startCli = async (env: Record<string, string> = {}) => {
    // The TURN port is 0 only so that this test never collides with a TURN server already on 3478.
    // Started from outside the checkout, as systemd or `npx` from another folder would.
    const child = spawn(process.execPath, [cli, 'start', '--port', '0'], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', PARLEY_TURN_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk));
    const output = (pattern: RegExp, what: string) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const look = () => {
          const match = pattern.exec(out);
          if (!match) return;
          clearInterval(poll);
          resolve(match);
        };
        const poll = setInterval(look, 20);
        child.once('exit', (code) => {
          clearInterval(poll);
          reject(new Error(`parley start exited with ${code} before ${what}: ${out}`));
        });
        setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`no ${what} within 15 s: ${out}`));
        }, 15_000).unref();
      });
    const url = (await output(/open (http:\/\/\S+?)\/?\n/, 'URL'))[1]!;
    const stop = async () => {
      child.kill('SIGTERM');
      return new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    };
    return { child, url, output, stop };
  };

  test('parley start with no configuration serves the web app, the SDK, signaling in dev mode and STUN/TURN, starts its SFU workers before any room, and stops on SIGTERM', async () => {
    const { url, output, stop } = await startCli();
    try {
      // Nobody has joined an SFU room: the workers start with the server, so the first group
      // call's joins do not wait for them.
      const started = await output(/"workers":(\d+)[^\n]*"msg":"SFU started"/, 'SFU start');
      assert.ok(Number(started[1]) >= 1, 'at least one SFU worker');
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(`${url}/`)).status, 200);
      assert.equal((await fetch(`${url}/sdk/parley.js`)).status, 200);
      const { token } = (await (await fetch(`${url}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"room":"smoke","identity":"me"}' })).json()) as { token: string };
      const { WebSocket } = await import('ws');
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id: '1', type: 'join', token }));
      const reply = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
      const joined = JSON.parse(reply) as { type: string; iceServers: Array<{ urls: string[]; username?: string }> };
      assert.equal(joined.type, 'joined');
      const turn = joined.iceServers.find((server) => server.urls.some((u) => u.startsWith('turn:127.0.0.1:')));
      assert.match(turn?.username ?? '', /^\d+:me$/, 'the built-in TURN server comes with credentials');
      ws.close();
    } finally {
      assert.equal(await stop(), 0, 'a clean shutdown');
    }
  });

  for (const [setting, env] of [
    ['P2P-only rooms', { PARLEY_TOPOLOGY: 'p2p' }],
    ['PARLEY_SFU_START_AT_BOOT=false', { PARLEY_SFU_START_AT_BOOT: 'false' }],
  ] as const) {
    test(`parley start with ${setting} starts no SFU worker before an SFU room`, async () => {
      const { child, stop } = await startCli(env);
      try {
        // Workers are forked before the URL is printed when they start with the server.
        const children = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
        assert.equal(children, '', 'no worker process');
      } finally {
        assert.equal(await stop(), 0, 'a clean shutdown');
      }
    });
  }

  test('parley start refuses plain HTTP off loopback and a key-less production config', () => {
    const plain = run(['start', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(plain.status, 2);
    assert.match(plain.stderr, /refusing to serve plain HTTP on 0\.0\.0\.0/);
    const keyless = run(['start', '--host', '0.0.0.0', '--port', '0', '--behind-tls-proxy']);
    assert.equal(keyless.status, 2);
    assert.match(keyless.stderr, /no API key configured/);
    assert.doesNotMatch(keyless.stderr + keyless.stdout, /secret-that-is/, 'no secret in the output');
  });
});
