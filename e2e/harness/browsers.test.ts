/**
 * Proves the browser harness: fake media in Chromium and Firefox, and a real
 * WebRTC call Chromium <-> Firefox with signaling relayed by this process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserExecutable, launchBrowser } from './browsers.ts';
import type { TestBrowser, TestPage } from './browsers.ts';

// The page keeps all WebRTC state; the test only moves JSON between pages.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>parley harness</title></head>
<body>
<video id="remote" autoplay playsinline></video>
<script>
window.rtc = {
  stream: null, pc: null, candidates: [], remoteStream: null, playResult: 'none',
  async media() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    return this.stream.getTracks().map((t) => ({
      kind: t.kind, readyState: t.readyState, enabled: t.enabled, muted: t.muted, label: t.label,
      width: t.getSettings().width ?? 0, height: t.getSettings().height ?? 0,
    }));
  },
  createPc() {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    for (const t of this.stream.getTracks()) pc.addTrack(t, this.stream);
    pc.onicecandidate = (e) => { if (e.candidate) this.candidates.push(e.candidate.toJSON()); };
    pc.ontrack = (e) => {
      if (this.remoteStream) return;
      this.remoteStream = e.streams[0];
      const v = document.getElementById('remote');
      v.srcObject = this.remoteStream;
      v.play().then(() => { this.playResult = 'playing'; }, (err) => { this.playResult = 'rejected: ' + err.name; });
    };
    pc.onconnectionstatechange = () => console.log('connectionState ' + pc.connectionState);
    return pc;
  },
  async offer() {
    const pc = this.createPc();
    await pc.setLocalDescription(await pc.createOffer());
    return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
  },
  async answer(offer) {
    const pc = this.createPc();
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
  },
  async accept(answer) { await this.pc.setRemoteDescription(answer); },
  takeCandidates() { return this.candidates.splice(0); },
  async addCandidates(list) { for (const c of list) await this.pc.addIceCandidate(c); },
  state() { return { connection: this.pc.connectionState, ice: this.pc.iceConnectionState, play: this.playResult }; },
  async stats() {
    const report = await this.pc.getStats();
    const byId = new Map();
    const pairs = [];
    let video = null, audio = null, transport = null;
    report.forEach((s) => {
      byId.set(s.id, s);
      const kind = s.kind ?? s.mediaType;
      if (s.type === 'inbound-rtp' && kind === 'video') video = s;
      if (s.type === 'inbound-rtp' && kind === 'audio') audio = s;
      if (s.type === 'transport' && s.selectedCandidatePairId) transport = s;
      if (s.type === 'candidate-pair') pairs.push(s);
    });
    let pair = null, pairSource = 'none';
    if (transport && byId.has(transport.selectedCandidatePairId)) {
      pair = byId.get(transport.selectedCandidatePairId); pairSource = 'transport.selectedCandidatePairId';
    } else if (pairs.find((p) => p.selected === true)) {
      pair = pairs.find((p) => p.selected === true); pairSource = 'candidate-pair.selected';
    } else if (pairs.find((p) => p.nominated && p.state === 'succeeded')) {
      pair = pairs.find((p) => p.nominated && p.state === 'succeeded'); pairSource = 'nominated+succeeded';
    }
    const local = pair ? byId.get(pair.localCandidateId) : null;
    const remote = pair ? byId.get(pair.remoteCandidateId) : null;
    const codec = video && video.codecId ? byId.get(video.codecId) : null;
    const v = document.getElementById('remote');
    return {
      framesDecoded: video?.framesDecoded ?? 0,
      frameWidth: video?.frameWidth ?? 0,
      frameHeight: video?.frameHeight ?? 0,
      videoBytesReceived: video?.bytesReceived ?? 0,
      videoCodec: codec?.mimeType ?? '?',
      audioBytesReceived: audio?.bytesReceived ?? 0,
      audioPacketsReceived: audio?.packetsReceived ?? 0,
      pairSource,
      localCandidateType: local?.candidateType ?? '?',
      localAddress: (local?.address ?? local?.ip ?? '?') + ':' + (local?.port ?? '?') + '/' + (local?.protocol ?? '?'),
      remoteCandidateType: remote?.candidateType ?? '?',
      remoteAddress: (remote?.address ?? remote?.ip ?? '?') + ':' + (remote?.port ?? '?'),
      videoElement: v.videoWidth + 'x' + v.videoHeight + (v.paused ? ' paused' : ' playing'),
    };
  },
};
</script>
</body></html>`;

// Page-side view of window.rtc, for typing the evaluate callbacks.
interface TrackInfo { kind: string; readyState: string; enabled: boolean; muted: boolean; label: string; width: number; height: number }
interface Sdp { type: RTCSdpType; sdp: string }
interface CallStats {
  framesDecoded: number; frameWidth: number; frameHeight: number; videoBytesReceived: number; videoCodec: string;
  audioBytesReceived: number; audioPacketsReceived: number; pairSource: string;
  localCandidateType: string; localAddress: string; remoteCandidateType: string; remoteAddress: string; videoElement: string;
}
interface Rtc {
  media(): Promise<TrackInfo[]>;
  offer(): Promise<Sdp>;
  answer(offer: Sdp): Promise<Sdp>;
  accept(answer: Sdp): Promise<void>;
  takeCandidates(): RTCIceCandidateInit[];
  addCandidates(list: RTCIceCandidateInit[]): Promise<void>;
  state(): { connection: string; ice: string; play: string };
  stats(): Promise<CallStats>;
}
declare global {
  interface Window { rtc: Rtc }
}

let server: Server | undefined;
let url = '';
let chromium: TestBrowser | undefined;
let firefox: TestBrowser | undefined;
const pages: TestPage[] = [];

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '127.0.0.1', resolve);
  });
  // 127.0.0.1 is a secure context in both browsers, so getUserMedia is available over plain http.
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const [c, f] = await Promise.allSettled([launchBrowser('chromium'), launchBrowser('firefox')]);
  if (c.status === 'fulfilled') chromium = c.value;
  if (f.status === 'fulfilled') firefox = f.value;
  for (const r of [c, f]) if (r.status === 'rejected') throw r.reason;
});

after(async () => {
  await Promise.allSettled(pages.map((p) => p.close()));
  await Promise.allSettled([chromium?.close(), firefox?.close()]);
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
});

async function open(browser: TestBrowser | undefined): Promise<TestPage> {
  assert.ok(browser, 'browser was not launched (see the before hook)');
  const page = await browser.newPage();
  pages.push(page);
  await page.goto(url);
  return page;
}

test('getUserMedia gives live fake audio and video tracks in Chromium and Firefox', { timeout: 30_000 }, async () => {
  for (const browser of [chromium, firefox]) {
    const page = await open(browser);
    const tracks = await page.evaluate(() => window.rtc.media(), undefined);
    console.log(`${page.name} tracks: ${JSON.stringify(tracks)}`);
    const audio = tracks.filter((t) => t.kind === 'audio');
    const video = tracks.filter((t) => t.kind === 'video');
    assert.equal(audio.length, 1, `${page.name}: one audio track`);
    assert.equal(video.length, 1, `${page.name}: one video track`);
    for (const t of tracks) assert.equal(t.readyState, 'live', `${page.name}: ${t.kind} track is live`);
    assert.ok(video[0]!.width > 0 && video[0]!.height > 0, `${page.name}: video has a size`);
    await page.close();
  }
});

test('WebRTC call Chromium <-> Firefox with signaling relayed by the test', { timeout: 45_000 }, async () => {
  const caller = await open(chromium);
  const callee = await open(firefox);
  await caller.evaluate(() => window.rtc.media(), undefined);
  await callee.evaluate(() => window.rtc.media(), undefined);

  const offer = await caller.evaluate(() => window.rtc.offer(), undefined);
  const answer = await callee.evaluate((o) => window.rtc.answer(o), offer);
  await caller.evaluate((a) => window.rtc.accept(a), answer);

  // Trickle ICE through this process until both sides are connected.
  const relayed = { toCallee: 0, toCaller: 0 };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const fromCaller = await caller.evaluate(() => window.rtc.takeCandidates(), undefined);
    if (fromCaller.length) await callee.evaluate((l) => window.rtc.addCandidates(l), fromCaller);
    const fromCallee = await callee.evaluate(() => window.rtc.takeCandidates(), undefined);
    if (fromCallee.length) await caller.evaluate((l) => window.rtc.addCandidates(l), fromCallee);
    relayed.toCallee += fromCaller.length;
    relayed.toCaller += fromCallee.length;
    const [a, b] = [await caller.evaluate(() => window.rtc.state(), undefined), await callee.evaluate(() => window.rtc.state(), undefined)];
    if (a.connection === 'connected' && b.connection === 'connected') break;
    if (Date.now() > deadline || a.connection === 'failed' || b.connection === 'failed') {
      assert.fail(
        `call did not connect: chromium ${JSON.stringify(a)}, firefox ${JSON.stringify(b)}, relayed ${JSON.stringify(relayed)}\n` +
          `chromium console:\n  ${caller.consoleLines.slice(-20).join('\n  ')}\nfirefox console:\n  ${callee.consoleLines.slice(-20).join('\n  ')}`,
      );
    }
    await sleep(100);
  }
  console.log(`connected; candidates relayed: ${JSON.stringify(relayed)}`);
  assert.ok(relayed.toCallee > 0 && relayed.toCaller > 0, 'candidates were relayed both ways');

  const flowing = async () => {
    const s = await window.rtc.stats();
    return s.framesDecoded > 10 && s.audioBytesReceived > 0;
  };
  await Promise.all([
    caller.waitFor(flowing, undefined, { timeoutMs: 20_000, what: 'Chromium to decode >10 video frames and receive audio from Firefox' }),
    callee.waitFor(flowing, undefined, { timeoutMs: 20_000, what: 'Firefox to decode >10 video frames and receive audio from Chromium' }),
  ]);

  for (const page of [caller, callee]) {
    const s = await page.evaluate(() => window.rtc.stats(), undefined);
    const st = await page.evaluate(() => window.rtc.state(), undefined);
    console.log(`${page.name} receives: ${JSON.stringify(s)} play=${st.play}`);
    assert.ok(s.framesDecoded > 10, `${page.name}: framesDecoded ${s.framesDecoded} > 10`);
    assert.ok(s.audioBytesReceived > 0, `${page.name}: audio bytesReceived ${s.audioBytesReceived} > 0`);
    assert.ok(s.frameWidth > 0 && s.frameHeight > 0, `${page.name}: decoded frames have a size`);
    assert.notEqual(s.pairSource, 'none', `${page.name}: a selected candidate pair exists`);
    assert.ok(['host', 'srflx'].includes(s.localCandidateType), `${page.name}: local candidate type ${s.localCandidateType} is host/srflx`);
    assert.equal(st.play, 'playing', `${page.name}: remote <video> autoplays`);
  }
});

test('a browser that hangs at start is killed and started once more', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-hang-'));
  try {
    // The first start hangs the way a Chromium start can (its command line, hence its profile,
    // kept by `sh -c`); the second is the real browser.
    const hungPidFile = join(dir, 'hung.pid');
    const executable = join(dir, 'chromium-that-hangs-once');
    await writeFile(
      executable,
      `#!/bin/sh\nif [ ! -e '${hungPidFile}' ]; then echo $$ > '${hungPidFile}'; exec sh -c 'sleep 120' hang "$@"; fi\nexec '${browserExecutable('chromium')}' "$@"\n`,
      { mode: 0o755 },
    );
    const browser = await launchBrowser('chromium', { executablePath: executable, launchTimeoutMs: 5_000 });
    try {
      const page = await browser.newPage();
      assert.equal(await page.evaluate(() => 6 * 7, undefined), 42, 'the second start gives a working browser');
    } finally {
      await browser.close();
    }
    const hungPid = Number(await readFile(hungPidFile, 'utf8'));
    assert.ok(!isAlive(hungPid), `the hung first start (pid ${hungPid}) was killed`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
