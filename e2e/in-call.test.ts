/**
 * In-call controls in real browsers, each proven from the OTHER participant's getStats and
 * events, in a P2P room (Chromium <-> Firefox) and an SFU room:
 * - camera and microphone toggles: the others see the source muted and receive nothing from it,
 *   then live again with media flowing;
 * - camera switch (switchCamera() in Chromium, a canvas track in Firefox): replaceTrack on the
 *   same m-line, so no renegotiation (every SDP unchanged on both sides), no
 *   trackUnsubscribed/trackSubscribed, and the others' decoded frames never stall for 1 s;
 * - screen share start/stop: a second video arrives as `screen` and goes again; the camera keeps
 *   flowing. In the P2P room Chromium is the polite side, so its screen m-line is the case where
 *   the polite side adds an m-line after the first exchange.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';

const env = useCallEnvironment();
const VIDEO = { width: 640, height: 360, frameRate: 30 };
/** The canvas "camera" is 2:1, unlike any fake camera, so the others can tell it arrived. */
const CANVAS = { width: 400, height: 200 };
const FREEZE_LIMIT_MS = 1000;

type Topology = 'p2p' | 'sfu';
type Room = import('@parley/client').Room;
type TrackSource = import('@parley/client').TrackSource;
/** Set in the observer's page while its frame watch runs. */
type WatchWindow = { __watching?: boolean };

/**
 * How many inbound streams of `kind` received bytes during one second. The rooms here have two
 * participants, so every inbound stream is the other one's.
 */
async function flowingStreams(observer: SdkParticipant, kind: 'audio' | 'video'): Promise<number> {
  return observer.page.evaluate(
    async (kind) => {
      const room = (window as unknown as ParleyWindow).__parley.room;
      const bytes = async () => {
        const debug = await room.debugState();
        const byStream = new Map<string, number>();
        for (const pc of [...debug.links, ...(debug.sfu?.subscriber ? [debug.sfu.subscriber] : [])]) {
          for (const r of pc.rtp) if (r.direction === 'inbound' && r.kind === kind) byStream.set(`${pc.id}/${r.id}`, r.bytes ?? 0);
        }
        return byStream;
      };
      const before = await bytes();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const after = await bytes();
      return [...after].filter(([id, n]) => n > (before.get(id) ?? 0)).length;
    },
    kind,
  );
}

async function waitForFlowingStreams(observer: SdkParticipant, kind: 'audio' | 'video', expected: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen = -1;
  while (Date.now() < deadline) {
    seen = await flowingStreams(observer, kind);
    if (seen === expected) return;
  }
  assert.fail(`${observer.identity}: ${what}: ${expected} ${kind} stream(s) flowing expected, saw ${seen}`);
}

/** What `observer` knows of `from`'s `source`: announced muted, and the inbound video figures. */
async function remoteSource(observer: SdkParticipant, from: string, source: string) {
  return observer.page.evaluate(
    async ({ from, source }) => {
      const room = (window as unknown as ParleyWindow).__parley.room as Room;
      const remote = room.remoteParticipants.get(from)?.tracks.get(source as never);
      const video = (await room.getStats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video' && s.source === source);
      return { muted: remote?.muted, subscribed: remote?.track !== undefined, frames: video?.frames ?? 0, width: video?.frameWidth ?? 0, height: video?.frameHeight ?? 0 };
    },
    { from, source },
  );
}

async function waitForAnnounced(observer: SdkParticipant, from: string, source: string, muted: boolean): Promise<void> {
  await observer.page.waitFor(
    ({ from, source, muted }) =>
      (window as unknown as ParleyWindow).__parley.events.some((e: { name: string; detail: string }) => e.name === 'participantUpdated' && e.detail.startsWith(`${from}:`) && e.detail.includes(`${source}=${muted ? 'muted' : 'live'}`)) &&
      (window as unknown as ParleyWindow).__parley.room.remoteParticipants.get(from)?.tracks.get(source as TrackSource)?.muted === muted,
    { from, source, muted },
    { timeoutMs: 10_000, what: `${observer.identity} sees ${from}'s ${source} ${muted ? 'muted' : 'live'}` },
  );
}

async function setEnabled(actor: SdkParticipant, source: 'camera' | 'microphone', on: boolean): Promise<void> {
  await actor.page.evaluate(
    ({ source, on }) => {
      const local = (window as unknown as ParleyWindow).__parley.room.localParticipant;
      return source === 'camera' ? local.setCameraEnabled(on) : local.setMicrophoneEnabled(on);
    },
    { source, on },
  );
}

/** Turns `source` off and on again; `observer` sees it muted with nothing flowing, then live with media. */
async function assertToggle(actor: SdkParticipant, observer: SdkParticipant, source: 'camera' | 'microphone'): Promise<void> {
  const kind = source === 'camera' ? 'video' : 'audio';
  await waitForFlowingStreams(observer, kind, 1, `${actor.identity}'s ${source} before the toggle`);
  await setEnabled(actor, source, false);
  await waitForAnnounced(observer, actor.identity, source, true);
  await waitForFlowingStreams(observer, kind, 0, `${actor.identity}'s ${source} off`);
  await setEnabled(actor, source, true);
  await waitForAnnounced(observer, actor.identity, source, false);
  await waitForFlowingStreams(observer, kind, 1, `${actor.identity}'s ${source} on again`);
  if (kind === 'video') {
    await observer.page.waitFor(
      async (from) => ((await (window as unknown as ParleyWindow).__parley.room.getStats()) as Awaited<ReturnType<Room['getStats']>>).some((s) => s.participant === from && s.kind === 'video' && s.direction === 'inbound' && s.source === 'camera' && (s.frames ?? 0) > 10),
      actor.identity,
      { timeoutMs: 15_000, what: `${observer.identity} decodes ${actor.identity}'s camera again` },
    );
  }
}

/** Every local and remote SDP of the page's connections (P2P links, SFU publications and subscriber): unchanged means no renegotiation. */
function descriptions(participant: SdkParticipant): Promise<string[]> {
  return participant.page.evaluate(async () => {
    const debug = await (window as unknown as ParleyWindow).__parley.room.debugState();
    const pcs = [...debug.links, ...(debug.sfu?.publications ?? []), ...(debug.sfu?.subscriber ? [debug.sfu.subscriber] : [])];
    return pcs.flatMap((pc) => [pc.localSdp ?? '', pc.remoteSdp ?? '']);
  }, undefined);
}

/**
 * Runs `change` while `observer` samples `from`'s camera every 100 ms: the longest stretch
 * without a newly decoded frame, and whether the camera track was replaced or renegotiated.
 */
async function watchCameraAcross(observer: SdkParticipant, actor: SdkParticipant, change: () => Promise<void>): Promise<{ freezeMs: number; frames: number }> {
  const from = actor.identity;
  const sdpBefore = await Promise.all([descriptions(observer), descriptions(actor)]);
  const eventsBefore = (await observer.events()).length;
  const watch = observer.page.evaluate(
    async (from) => {
      const room = (window as unknown as ParleyWindow).__parley.room as Room;
      const frames = async () => (await room.getStats()).filter((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video' && s.source === 'camera').reduce((n, s) => Math.max(n, s.frames ?? 0), 0);
      const first = await frames();
      let last = first;
      let lastChange = performance.now();
      let freezeMs = 0;
      (window as unknown as WatchWindow).__watching = true;
      const end = performance.now() + 4000;
      while (performance.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const now = await frames();
        if (now > last) {
          last = now;
          lastChange = performance.now();
        }
        freezeMs = Math.max(freezeMs, performance.now() - lastChange);
      }
      (window as unknown as WatchWindow).__watching = false;
      return { freezeMs: Math.round(freezeMs), frames: last - first };
    },
    from,
  );
  await observer.page.waitFor(() => (window as unknown as WatchWindow).__watching === true, undefined, { timeoutMs: 5000, what: 'the frame watch started' });
  await change();
  const result = await watch;
  const sdpAfter = await Promise.all([descriptions(observer), descriptions(actor)]);
  assert.deepEqual(sdpAfter[0], sdpBefore[0], `${observer.identity}: no renegotiation (SDPs unchanged)`);
  assert.deepEqual(sdpAfter[1], sdpBefore[1], `${actor.identity}: no renegotiation (SDPs unchanged)`);
  const trackEvents = (await observer.events()).slice(eventsBefore).filter((e) => (e.name === 'trackSubscribed' || e.name === 'trackUnsubscribed') && e.detail.startsWith(`${from}:`));
  assert.deepEqual(trackEvents, [], `${observer.identity} saw no track come or go`);
  assert.ok(result.frames > 30, `${observer.identity} kept decoding ${from}'s camera (${result.frames} frames in 4 s)`);
  assert.ok(result.freezeMs < FREEZE_LIMIT_MS, `no gap for ${observer.identity}: longest freeze ${result.freezeMs} ms`);
  return result;
}

/**
 * switchCamera() in Chromium. Its fake capture has one usable camera (a second one from
 * `--use-fake-device-for-media-stream=device-count=2` plays in a <video> but never reaches the
 * WebRTC encoder), so this re-acquires the same device: a new track through the same code path.
 */
async function assertSwitchCamera(actor: SdkParticipant, observer: SdkParticipant): Promise<void> {
  const before = await actor.page.evaluate(() => {
    const track = (window as unknown as ParleyWindow).__parley.room.localParticipant.tracks.get('camera') as MediaStreamTrack;
    return { id: track.id, deviceId: track.getSettings().deviceId! };
  }, undefined);
  const result = await watchCameraAcross(observer, actor, () => actor.page.evaluate((id) => (window as unknown as ParleyWindow).__parley.room.localParticipant.switchCamera(id), before.deviceId));
  const after = await actor.page.evaluate(async () => {
    const room = (window as unknown as ParleyWindow).__parley.room;
    const track = room.localParticipant.tracks.get('camera') as MediaStreamTrack;
    const debug = await room.debugState();
    const sfuCamera = debug.sfu?.publications.find((p) => p.source === 'camera')?.senderTrackId;
    return { id: track.id, senders: [...debug.links.map((link) => link.senders.camera), ...(sfuCamera === undefined ? [] : [sfuCamera])] };
  }, undefined);
  assert.notEqual(after.id, before.id, `${actor.identity} publishes a new camera track`);
  assert.deepEqual(after.senders, [after.id], `${actor.identity}'s camera sender carries the new track`);
  console.log(`${actor.identity} switched cameras: ${observer.identity} decoded ${result.frames} frames in 4 s, longest freeze ${result.freezeMs} ms`);
}

/** Any browser: publishTrack('camera', canvas) replaces the camera; the observer sees the canvas's 2:1 picture. */
async function assertSwitchToCanvas(actor: SdkParticipant, observer: SdkParticipant): Promise<void> {
  const result = await watchCameraAcross(observer, actor, () =>
    actor.page.evaluate((size) => {
      const canvas = Object.assign(document.createElement('canvas'), size);
      const context = canvas.getContext('2d')!;
      let frame = 0;
      // Moving content: a canvas track only produces frames when the canvas changes.
      setInterval(() => {
        context.fillStyle = `hsl(${(frame * 7) % 360} 80% 50%)`;
        context.fillRect(0, 0, size.width, size.height);
        context.fillStyle = '#fff';
        context.fillRect((frame * 5) % size.width, 50, 40, 40);
        frame += 1;
      }, 33);
      return (window as unknown as ParleyWindow).__parley.room.localParticipant.publishTrack('camera', canvas.captureStream(30).getVideoTracks()[0]!);
    }, CANVAS),
  );
  await observer.page.waitFor(
    async (from) => {
      const video = ((await (window as unknown as ParleyWindow).__parley.room.getStats()) as Awaited<ReturnType<Room['getStats']>>).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video' && s.source === 'camera');
      return !!video?.frameWidth && !!video.frameHeight && video.frameWidth === 2 * video.frameHeight;
    },
    actor.identity,
    { timeoutMs: 10_000, what: `${observer.identity} receives ${actor.identity}'s 2:1 canvas as the camera` },
  );
  const seen = await remoteSource(observer, actor.identity, 'camera');
  console.log(`${actor.identity} switched to a canvas: ${observer.identity} decodes ${seen.width}x${seen.height}, ${result.frames} frames in 4 s, longest freeze ${result.freezeMs} ms`);
}

/** Chromium shares its (fake) screen and stops: the observer gets a second video, then only the camera. */
async function assertScreenShare(actor: SdkParticipant, observer: SdkParticipant): Promise<void> {
  const from = actor.identity;
  await actor.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.localParticipant.startScreenShare(), undefined);
  await observer.waitForEvent('trackSubscribed', `${from}:screen`);
  await observer.page.waitFor(
    async (from) => ((await (window as unknown as ParleyWindow).__parley.room.getStats()) as Awaited<ReturnType<Room['getStats']>>).some((s) => s.participant === from && s.direction === 'inbound' && s.source === 'screen' && (s.frames ?? 0) > 10),
    from,
    { timeoutMs: 15_000, what: `${observer.identity} decodes ${from}'s screen` },
  );
  await waitForFlowingStreams(observer, 'video', 2, `${from}'s camera and screen`);
  const shared = await remoteSource(observer, from, 'screen');
  assert.equal(shared.muted, false);
  console.log(`${from} shares the screen: ${observer.identity} decodes it at ${shared.width}x${shared.height}`);

  await actor.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.localParticipant.stopScreenShare(), undefined);
  await observer.waitForEvent('trackUnsubscribed', `${from}:screen`);
  await waitForAnnounced(observer, from, 'screen', true);
  await waitForFlowingStreams(observer, 'video', 1, `${from}'s camera only, after the share`);
  assert.ok((await remoteSource(observer, from, 'camera')).subscribed, `${observer.identity} still has ${from}'s camera`);
}

async function joinPair(topology: Topology, room: string, chromiumIdentity: string, firefoxIdentity: string): Promise<[SdkParticipant, SdkParticipant]> {
  const options = { roomConfig: { topology }, video: VIDEO };
  const chromium = await SdkParticipant.join(env.chromium, env.server.url, room, chromiumIdentity, options);
  const firefox = await SdkParticipant.join(env.firefox, env.server.url, room, firefoxIdentity, options);
  await SdkParticipant.waitForMediaBetween(chromium, firefox);
  return [chromium, firefox];
}

async function assertNoErrors(...participants: SdkParticipant[]): Promise<void> {
  for (const participant of participants) {
    const errors = (await participant.events()).filter((e) => e.name === 'error' || e.name === 'participantLeft');
    assert.deepEqual(errors, [], `${participant.identity}: no errors and nobody left`);
  }
}

for (const topology of ['p2p', 'sfu'] as const) {
  describe(`in-call controls, ${topology.toUpperCase()} room (Chromium and Firefox)`, () => {
    // Identities decide the P2P roles: the smaller one is polite, so Chromium is polite and Firefox impolite.
    test('camera and microphone toggles are announced and stop the media; camera switches without a gap; screen share comes and goes', async () => {
      const [chromium, firefox] = await joinPair(topology, `in-call-${topology}`, 'alice', 'bob');
      try {
        await assertToggle(chromium, firefox, 'camera');
        await assertToggle(firefox, chromium, 'microphone');
        await assertToggle(firefox, chromium, 'camera');
        await assertSwitchCamera(chromium, firefox);
        await assertSwitchToCanvas(firefox, chromium);
        await assertScreenShare(chromium, firefox);
        await assertNoErrors(chromium, firefox);
      } finally {
        await Promise.all([chromium.close(), firefox.close()]);
      }
    });
  });
}
