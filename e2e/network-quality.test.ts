/**
 * The pre-call network test (`detectNetworkQuality` and the join page's "Test my network")
 * against a real server: from Node and a real Chromium on plain loopback (excellent), and from
 * Chromium and Firefox inside a netsim namespace whose link is shaped to 800 kbit/s with 200 ms
 * round trips (fair or poor, with figures that match the shape).
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { detectNetworkQuality, ParleyError, type NetworkQualityResult } from '@parley/client';
import { startServer, type RunningServer } from '@parley/server';
import { launchBrowser, type TestBrowser, type TestPage } from './harness/browsers.ts';
import { assertNoSecretsLogged, testServerLogger } from './harness/environment.ts';
import { createNetwork, TcpProxy, type Network } from './netsim/index.ts';

const SHAPE = { rateKbit: 800, rttMs: 200 };

let server: RunningServer;
before(async () => {
  // Several full tests from one address (127.0.0.1, also behind the proxies) in a few seconds.
  server = await startServer({ port: 0, limits: { networkTestsPerIpPerMinute: 6000 } }, { logger: testServerLogger() });
});
after(async () => {
  await server?.close();
  assertNoSecretsLogged(server);
});

/** Presses "Test my network" on the join page and returns the result line and its quality. */
async function testThroughJoinPage(page: TestPage): Promise<{ quality: string; text: string }> {
  await page.waitFor(() => document.querySelector('[data-testid="network-test-button"]') !== null, undefined, { timeoutMs: 20_000, what: 'the join page' });
  await page.evaluate(() => document.querySelector<HTMLButtonElement>('[data-testid="network-test-button"]')!.click(), undefined);
  await page.waitFor(
    () => {
      const quality = document.querySelector<HTMLElement>('[data-testid="network-test-result"]')?.dataset.quality;
      return quality !== undefined && quality !== 'testing';
    },
    undefined,
    { timeoutMs: 15_000, what: 'the network test result' },
  );
  return page.evaluate(() => {
    const result = document.querySelector<HTMLElement>('[data-testid="network-test-result"]')!;
    return { quality: result.dataset.quality ?? '', text: result.textContent ?? '' };
  }, undefined);
}

function assertShapedLink(result: NetworkQualityResult, where: string): void {
  assert.ok(result.quality === 'fair' || result.quality === 'poor', `${where}: ${JSON.stringify(result)} is fair or poor`);
  // Lower bounds are loose: the machine is shared, and a starved browser measures less.
  // Upper bounds: the cap (unshaped, the same test measures hundreds of Mbps); the upload's is a
  // little looser because its time includes a round trip that is estimated, not measured.
  assert.ok(result.downloadMbps > 0.2 && result.downloadMbps < 0.85, `${where}: download ${result.downloadMbps} Mbps under an 800 kbit/s cap`);
  assert.ok(result.uploadMbps > 0.1 && result.uploadMbps < 1, `${where}: upload ${result.uploadMbps} Mbps under an 800 kbit/s cap`);
  assert.ok(result.latencyMs >= 195 && result.latencyMs < 600, `${where}: latency ${result.latencyMs} ms with 200 ms added`);
}

describe('detectNetworkQuality from Node', () => {
  test('an unshaped loopback is excellent', async (t) => {
    const result = await detectNetworkQuality({ url: server.url });
    t.diagnostic(`loopback from Node: ${JSON.stringify(result)}`);
    assert.equal(result.quality, 'excellent');
    assert.ok(result.downloadMbps > 100 && result.uploadMbps > 100 && result.latencyMs < 20, JSON.stringify(result));
  });

  test('200 ms of round trip (a delaying proxy, no root needed) is at best fair', async () => {
    const proxy = await TcpProxy.start({ listen: { host: '127.0.0.1' }, target: { host: '127.0.0.1', port: server.port }, delayMs: 100 });
    try {
      const result = await detectNetworkQuality({ url: proxy.url });
      assert.ok(result.latencyMs >= 195 && result.latencyMs < 500, JSON.stringify(result));
      assert.ok(result.quality === 'fair' || result.quality === 'poor', JSON.stringify(result));
    } finally {
      await proxy.close();
    }
  });

  test('an unreachable server is CONNECTION_FAILED; a silent one is REQUEST_TIMEOUT within the time bound', async () => {
    const closedPort = await freePort();
    await assert.rejects(detectNetworkQuality({ url: `http://127.0.0.1:${closedPort}` }), (error: unknown) => {
      assert.ok(error instanceof ParleyError && error.code === 'CONNECTION_FAILED', String(error));
      return true;
    });
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      await assert.rejects(detectNetworkQuality({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, durationMs: 500 }), { code: 'REQUEST_TIMEOUT' });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 450 && elapsed < 2500, `gave up after ${elapsed} ms (500 ms + 1 s grace)`);
    } finally {
      silent.close();
    }
  });

  test('aborting stops the test at once with the signal\'s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('the user closed the dialog');
    const pending = detectNetworkQuality({ url: server.url, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    await assert.rejects(pending, reason);
    assert.ok(Date.now() - started < 1000);
  });
});

describe('network test in real browsers', () => {
  let chromium: TestBrowser | undefined;
  before(async () => {
    chromium = await launchBrowser('chromium');
  });
  after(() => chromium?.close());

  test('Chromium on an unshaped loopback: the SDK and the join page say excellent', async (t) => {
    const page = await chromium!.newPage();
    await page.goto(`${server.url}/?room=netq`);
    const result = await page.evaluate(async (url) => {
      const sdk = (await import(`${url}/sdk/parley.js`)) as typeof import('@parley/client');
      return sdk.detectNetworkQuality({ url });
    }, server.url);
    t.diagnostic(`loopback from Chromium: ${JSON.stringify(result)}`);
    assert.equal(result.quality, 'excellent', JSON.stringify(result));
    const shown = await testThroughJoinPage(page);
    assert.equal(shown.quality, 'excellent');
    assert.match(shown.text, /^Excellent network: [\d.]+ Mbps down, [\d.]+ Mbps up, \d+ ms latency\. Video calls will work well\.$/);
    await page.close();
  });

  test('on a phone the button and the result fit the screen', async () => {
    const page = await chromium!.newPage();
    await page.emulatePhone();
    await page.goto(`${server.url}/?room=netq`);
    await testThroughJoinPage(page);
    const layout = await page.evaluate(() => {
      const box = (id: string) => document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
      const [button, result] = [box('network-test-button'), box('network-test-result')];
      return { viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, button: [button.left, button.right, button.height], result: [result.left, result.right, result.height] };
    }, undefined);
    assert.equal(layout.viewport, 390, "phone width");
    assert.ok(layout.scrollWidth <= layout.viewport, `no sideways scrolling: ${JSON.stringify(layout)}`);
    for (const [left, right, height] of [layout.button, layout.result]) {
      assert.ok(left! >= 0 && right! <= layout.viewport && height! > 0, `inside the screen width: ${JSON.stringify(layout)}`);
    }
    assert.ok(layout.button[2]! >= 44, 'a touch-sized button');
    await page.close();
  });

  describe('inside a shaped netsim namespace (800 kbit/s, 200 ms)', () => {
    let net: Network;
    let proxy: TcpProxy;
    before(async () => {
      net = await createNetwork({ shape: SHAPE });
      // The server stays on loopback (dev mode, nothing exposed on the host's real interfaces);
      // the namespace reaches it through this proxy on the veth host address, which adds the delay.
      proxy = await net.exposeTcp({ host: '127.0.0.1', port: server.port });
    });
    after(() => net?.close());

    const launchInside = (browserName: 'chromium' | 'firefox') =>
      launchBrowser(browserName, {
        networkNamespace: net.namespace,
        // A plain-http origin other than localhost is a secure context (camera preview) only when declared so.
        extraArgs: browserName === 'chromium' ? [`--unsafely-treat-insecure-origin-as-secure=${proxy.url}`] : [],
      });

    test('Chromium: the join page says fair or poor, with figures that match the shape', async (t) => {
      const browser = await launchInside('chromium');
      try {
        const page = await browser.newPage();
        await page.goto(`${proxy.url}/?room=netq`);
        const shown = await testThroughJoinPage(page);
        t.diagnostic(`Chromium join page: ${shown.text}`);
        const figures = /^(Fair|Poor) network: ([\d.]+) Mbps down, ([\d.]+) Mbps up, (\d+) ms latency\./.exec(shown.text);
        assert.ok(figures, shown.text);
        const [, , downloadMbps, uploadMbps, latencyMs] = figures;
        assertShapedLink({ quality: shown.quality as NetworkQualityResult['quality'], downloadMbps: Number(downloadMbps), uploadMbps: Number(uploadMbps), latencyMs: Number(latencyMs) }, 'Chromium');
      } finally {
        await browser.close();
      }
    });

    test('Firefox: the SDK says fair or poor, with figures that match the shape', async (t) => {
      const browser = await launchInside('firefox');
      try {
        const page = await browser.newPage();
        await page.goto(`${proxy.url}/sdk/parley.js`);
        const result = await page.evaluate(async (url) => {
          const sdk = (await import(`${url}/sdk/parley.js`)) as typeof import('@parley/client');
          return sdk.detectNetworkQuality({ url });
        }, proxy.url);
        t.diagnostic(`Firefox SDK: ${JSON.stringify(result)}`);
        assertShapedLink(result, 'Firefox');
      } finally {
        await browser.close();
      }
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
