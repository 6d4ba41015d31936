/**
 * Drives the Parley SDK inside a real browser page: join a room, read `room.getStats()`,
 * wait for media. Everything runs in the page through `evaluate`; the test process only
 * reads numbers back.
 *
 * Why this file is ~470 lines: `SdkParticipant` is the one surface every e2e file drives a
 * browser's SDK through (join, stats, waits for media, events, candidate pairs), so a test reads
 * the same words everywhere; the page-side join script is most of it and only makes sense beside
 * the methods that read what it records.
 */
import type { TestBrowser, TestPage } from './browsers.ts';

/** What the page keeps on `window.__parley`. */
export interface PageState {
  room: import('@parley/client').Room;
  /** `at`: the page's Date.now() when it happened. */
  events: Array<{ name: string; detail: string; at: number }>;
  /** The track each `identity:source` is shown with now (the last trackSubscribed, until its trackUnsubscribed); an `mcu` room's mixes are `server:mix` (audio) and `server:mix-video`. */
  shown: Record<string, MediaStreamTrack>;
  /** performance.now() of every video frame presented (requestVideoFrameCallback) for `identity:source`, while its element showed the track the SDK last gave for it. */
  presented: Record<string, number[]>;
}

/** The page's `window` as code run through `evaluate` reads it: `(window as unknown as ParleyWindow).__parley`. */
export interface ParleyWindow {
  __parley: PageState;
}

export interface StreamFigures {
  participant: string;
  direction: 'inbound' | 'outbound';
  kind: 'audio' | 'video';
  source?: string;
  codec?: string;
  bytes: number;
  /** RTP packets received (inbound) or sent (outbound). */
  packets: number;
  frames?: number;
  frameHeight?: number;
  candidateType?: string;
  dtlsState?: string;
  dtlsRole?: string;
  /** Outbound simulcast layer. */
  rid?: string;
  nackCount?: number;
  retransmittedPackets?: number;
  rttMs?: number;
  /** Inbound: round trips measured from the sender's answers to reference-time reports. */
  rttMeasurements?: number;
  /** Outbound: the browser's own estimate of its uplink (kbit/s), and why its encoder is limited. */
  availableOutgoingKbps?: number;
  qualityLimitationReason?: string;
}

export interface JoinOptions {
  camera?: boolean;
  microphone?: boolean;
  grants?: Partial<import('@parley/client').Grants>;
  roomConfig?: import('@parley/client').RoomConfig;
  /** Camera constraints (default: the SDK's 1280x720 at 30 fps). */
  video?: MediaTrackConstraints;
  /** `'relay'`: media only through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** `'mixed'`: the others' voices as the server's one mix (`ConnectOptions.receive`). */
  receive?: 'tracks' | 'mixed';
  /** How often the SDK sends its call-quality report (default: the SDK's 10 s). */
  qualityReportIntervalMs?: number;
  /** Keep every RTCPeerConnection the page creates, for `selectedCandidatePairs()`. */
  recordConnections?: boolean;
  /** Keep the page's signaling sockets and every message they carry (`SignalingTapWindow`), to replay or inject messages. */
  recordSignaling?: boolean;
}

/** A page joined with `recordSignaling`: the SDK's latest signaling socket, and what went each way (parsed JSON). */
export type SignalingTapWindow = {
  __signaling: {
    socket: WebSocket | undefined;
    sent: Record<string, unknown>[];
    received: Record<string, unknown>[];
    /** Set by a test: the socket closes right after the next message with these fields is sent (its reply lost with it). */
    closeAfter?: Record<string, string>;
    /** Set by a test: the socket closes as the next message with these fields arrives (the SDK still gets it, but cannot answer on this socket). */
    closeOnReceived?: Record<string, string>;
  };
};

/** One end of a connection's selected ICE candidate pair, as the browser's getStats reports it. */
export interface PairEnd {
  /** host, srflx, prflx or relay */
  type: string;
  address: string;
  port: number;
  /** For a local relay candidate: how the browser reaches the TURN server (udp, tcp or tls). */
  relayProtocol?: string;
}

export interface SelectedPair {
  local: PairEnd;
  remote: PairEnd;
}

export class SdkParticipant {
  private constructor(
    readonly page: TestPage,
    readonly identity: string,
  ) {}

  /** Opens a page on the server and joins `room` with camera and microphone on. */
  static async join(browser: TestBrowser, serverUrl: string, room: string, identity: string, options: JoinOptions = {}): Promise<SdkParticipant> {
    const page = await browser.newPage();
    // A same-origin page without the web app, so only this test's SDK instance runs.
    await page.goto(`${serverUrl}/sdk/parley.js`);
    const participant = new SdkParticipant(page, identity);
    await participant.connect(serverUrl, room, options);
    return participant;
  }

  /** Joins again from the same page with a fresh Room. */
  async connect(serverUrl: string, room: string, options: JoinOptions = {}): Promise<void> {
    await this.page.evaluate(
      async ({ serverUrl, room, identity, camera, microphone, grants, roomConfig, video, iceTransportPolicy, receive, qualityReportIntervalMs, recordConnections, recordSignaling }) => {
        const tapped = window as unknown as Partial<SignalingTapWindow>;
        if (recordSignaling && !tapped.__signaling) {
          const tap: SignalingTapWindow['__signaling'] = { socket: undefined, sent: [], received: [] };
          tapped.__signaling = tap;
          window.WebSocket = new Proxy(window.WebSocket, {
            construct(target, args, newTarget) {
              const socket = Reflect.construct(target, args, newTarget) as WebSocket;
              tap.socket = socket;
              socket.addEventListener('message', (event) => {
                const message = JSON.parse(String(event.data)) as Record<string, unknown>;
                tap.received.push(message);
                const closeOnReceived = tap.closeOnReceived;
                if (closeOnReceived && Object.entries(closeOnReceived).every(([key, value]) => message[key] === value)) {
                  tap.closeOnReceived = undefined;
                  socket.close();
                }
              });
              const send = socket.send.bind(socket);
              socket.send = (data) => {
                const message = typeof data === 'string' ? (JSON.parse(data) as Record<string, unknown>) : undefined;
                if (message) tap.sent.push(message);
                send(data);
                const closeAfter = tap.closeAfter;
                if (message && closeAfter && Object.entries(closeAfter).every(([key, value]) => message[key] === value)) {
                  tap.closeAfter = undefined;
                  socket.close();
                }
              };
              return socket;
            },
          });
        }
        const recorded = window as unknown as { __parleyPcs?: RTCPeerConnection[] };
        if (recordConnections && !recorded.__parleyPcs) {
          // A Proxy rather than a subclass: the constructor, its statics and instanceof stay the browser's own.
          const pcs: RTCPeerConnection[] = [];
          recorded.__parleyPcs = pcs;
          window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
            construct(target, args, newTarget) {
              const pc = Reflect.construct(target, args, newTarget) as RTCPeerConnection;
              pcs.push(pc);
              return pc;
            },
          });
        }
        const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
        const parleyRoom = new sdk.Room({ ...(video ? { capture: { video } } : {}), ...(qualityReportIntervalMs ? { qualityReports: { intervalMs: qualityReportIntervalMs } } : {}) });
        const state: PageState = { room: parleyRoom, events: [], shown: {}, presented: {} };
        (window as unknown as ParleyWindow).__parley = state;
        const record = (name: string, detail: string) => state.events.push({ name, detail, at: Date.now() });
        parleyRoom.on('participantJoined', (p) => {
          record('participantJoined', p.identity);
          // What the others see of the newcomer at once (the tracks its join announced).
          record('participantJoinedWith', `${p.identity}:${[...p.tracks].map(([source, t]) => `${source}=${t.muted ? 'muted' : 'live'}`).join(',')}`);
        });
        parleyRoom.on('participantLeft', (p, reason) => record('participantLeft', `${p.identity}:${reason}`));
        // The element showing each `identity:source`: replaced with the track, removed when it goes (as an app does).
        const elements = new Map<string, HTMLMediaElement>();
        // An `mcu` room's mixes: `server:mix` (audio) and `server:mix-video` (the grid).
        const keyOf = (identity: string | undefined, source: string, kind: string) => (identity === undefined ? (kind === 'video' ? 'server:mix-video' : 'server:mix') : `${identity}:${source}`);
        parleyRoom.on('trackUnsubscribed', ({ track, participant, source }) => {
          const key = keyOf(participant?.identity, source, track.kind);
          record('trackUnsubscribed', key);
          if (state.shown[key] !== track) return;
          delete state.shown[key];
          elements.get(key)?.remove();
          elements.delete(key);
        });
        parleyRoom.on('topologyChanged', (topology) => record('topologyChanged', topology));
        parleyRoom.on('participantUpdated', (p) => record('participantUpdated', `${p.identity}:${[...p.tracks].map(([source, t]) => `${source}=${t.muted ? 'muted' : 'live'}`).join(',')}`));
        parleyRoom.on('adaptiveBitrateChanged', (decision) => record('adaptiveBitrateChanged', decision.profile));
        parleyRoom.on('activeSpeakersChanged', (speakers) => record('activeSpeakersChanged', speakers.join(',')));
        parleyRoom.on('connectionStateChanged', (s) => record('connectionStateChanged', s));
        parleyRoom.on('error', (e) => record('error', `${e.code}: ${e.message}`));
        parleyRoom.on('disconnected', (e) => record('disconnected', e?.code ?? ''));
        parleyRoom.on('trackSubscribed', ({ track, participant, source }) => {
          const key = keyOf(participant?.identity, source, track.kind);
          record('trackSubscribed', key);
          // Render like an app would, so the browser decodes and plays what it receives.
          const element = document.createElement(track.kind === 'video' ? 'video' : 'audio');
          element.autoplay = true;
          element.muted = track.kind === 'video';
          element.srcObject = new MediaStream([track]);
          // Tile-sized: the page composites every frame of every video, on a test machine's shared cores.
          if (element instanceof HTMLVideoElement) element.style.width = '320px';
          document.body.append(element);
          void element.play().catch(() => undefined);
          // When the person would first see this video: its first frame presented.
          if (element instanceof HTMLVideoElement) element.requestVideoFrameCallback(() => record('firstFrame', key));
          // What the person sees of this source: the frames presented for the track the SDK gave
          // last (an app shows that one; an element of a track the SDK replaced no longer counts).
          state.shown[key] = track;
          elements.get(key)?.remove();
          elements.set(key, element);
          if (element instanceof HTMLVideoElement) {
            const presented = (state.presented[key] ??= []);
            const onFrame = () => {
              if (state.shown[key] !== track) return;
              presented.push(performance.now());
              element.requestVideoFrameCallback(onFrame);
            };
            element.requestVideoFrameCallback(onFrame);
          }
        });
        if (camera) await parleyRoom.localParticipant.setCameraEnabled(true);
        if (microphone) await parleyRoom.localParticipant.setMicrophoneEnabled(true);
        const token = await sdk.fetchDevToken(serverUrl, { room, identity, name: identity, ...(grants ? { grants } : {}), ...(roomConfig ? { roomConfig } : {}) });
        await parleyRoom.connect(serverUrl, token, { room, ...(iceTransportPolicy ? { iceTransportPolicy } : {}), ...(receive ? { receive } : {}) });
      },
      {
        serverUrl,
        room,
        identity: this.identity,
        camera: options.camera ?? true,
        microphone: options.microphone ?? true,
        grants: options.grants,
        roomConfig: options.roomConfig,
        video: options.video,
        iceTransportPolicy: options.iceTransportPolicy,
        receive: options.receive,
        qualityReportIntervalMs: options.qualityReportIntervalMs,
        recordConnections: options.recordConnections ?? false,
        recordSignaling: options.recordSignaling ?? false,
      },
    );
  }

  /**
   * The selected candidate pair of every connected RTCPeerConnection of a page joined with
   * `recordConnections` (direct links and SFU connections alike).
   */
  async selectedCandidatePairs(): Promise<SelectedPair[]> {
    return this.page.evaluate(async () => {
      const pcs = (window as unknown as { __parleyPcs?: RTCPeerConnection[] }).__parleyPcs;
      if (!pcs) throw new Error('join with recordConnections to read the selected candidate pairs');
      const pairs: SelectedPair[] = [];
      for (const pc of pcs) {
        if (pc.connectionState !== 'connected') continue;
        const reports = new Map<string, Record<string, unknown>>();
        (await pc.getStats()).forEach((report: Record<string, unknown>) => reports.set(String(report.id), report));
        const transport = [...reports.values()].find((r) => r.type === 'transport');
        // Firefox has no transport report: its selected pair carries `selected`.
        const pair =
          (typeof transport?.selectedCandidatePairId === 'string' ? reports.get(transport.selectedCandidatePairId) : undefined) ??
          [...reports.values()].find((r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')));
        const end = (id: unknown): PairEnd => {
          const candidate = reports.get(String(id)) ?? {};
          return {
            type: String(candidate.candidateType),
            address: String(candidate.address ?? candidate.ip),
            port: Number(candidate.port),
            ...(typeof candidate.relayProtocol === 'string' ? { relayProtocol: candidate.relayProtocol } : {}),
          };
        };
        if (pair) pairs.push({ local: end(pair.localCandidateId), remote: end(pair.remoteCandidateId) });
      }
      return pairs;
    }, undefined);
  }

  /** Tries to join and returns the error code and message it was refused with. */
  static async joinExpectingRefusal(browser: TestBrowser, serverUrl: string, room: string, identity: string): Promise<{ page: TestPage; code: string; message: string }> {
    const page = await browser.newPage();
    await page.goto(`${serverUrl}/sdk/parley.js`);
    const refusal = await page.evaluate(
      async ({ serverUrl, room, identity }) => {
        const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
        const parleyRoom = new sdk.Room();
        const token = await sdk.fetchDevToken(serverUrl, { room, identity });
        try {
          await parleyRoom.connect(serverUrl, token);
          return { code: 'JOINED', message: '' };
        } catch (error) {
          return { code: (error as { code: string }).code, message: (error as Error).message };
        }
      },
      { serverUrl, room, identity },
    );
    return { page, ...refusal };
  }

  async stats(): Promise<StreamFigures[]> {
    return this.page.evaluate(async () => {
      const state = (window as unknown as ParleyWindow).__parley;
      return (await state.room.getStats()).map((s) => ({
        participant: s.participant,
        direction: s.direction,
        kind: s.kind,
        source: s.source,
        codec: s.codec,
        bytes: s.bytes,
        packets: s.packets,
        frames: s.frames,
        frameHeight: s.frameHeight,
        candidateType: s.candidateType,
        dtlsState: s.dtlsState,
        dtlsRole: s.dtlsRole,
        rid: s.rid,
        nackCount: s.nackCount,
        retransmittedPackets: s.retransmittedPackets,
        rttMs: s.rttMs,
        rttMeasurements: s.rttMeasurements,
        availableOutgoingKbps: s.availableOutgoingKbps,
        qualityLimitationReason: s.qualityLimitationReason,
      }));
    }, undefined);
  }

  events(): Promise<Array<{ name: string; detail: string; at: number }>> {
    return this.page.evaluate(() => (window as unknown as ParleyWindow).__parley.events, undefined);
  }

  /** The room's events between two `pageNow()` times, one per line, in ms from `zero` (also a `pageNow()` time): what a gap measured on the page's clock had around it. */
  eventsBetween(from: number, to: number, zero = from): Promise<string> {
    return this.page.evaluate(
      ({ from, to, zero }) =>
        (window as unknown as ParleyWindow).__parley.events
          .map((e) => ({ ...e, t: e.at - performance.timeOrigin }))
          .filter((e) => e.t >= from && e.t <= to)
          .map((e) => `${Math.round(e.t - zero)} ms: ${e.name} ${e.detail}`)
          .join('\n'),
      { from, to, zero },
    );
  }

  /**
   * What a failed wait needs to be understood: the room's events, and every PeerConnection's
   * states and RTP counters, read raw from getStats so that a stream the SDK cannot attribute
   * shows too.
   */
  async diagnostics(): Promise<string> {
    const report = await this.page
      .evaluate(async () => {
        const state = (window as unknown as Partial<ParleyWindow>).__parley;
        if (!state) return 'no room on this page';
        const debug = await state.room.debugState();
        const named = [
          ...debug.links.map((link) => [`p2p:${link.remoteIdentity}`, link] as const),
          ...(debug.sfu?.publications ?? []).map((publication) => [`sfu:pub:${publication.source}`, publication] as const),
          ...(debug.sfu?.subscriber ? [['sfu:sub', debug.sfu.subscriber] as const] : []),
        ];
        const lines = [`topology=${debug.topology}`];
        for (const [name, pc] of named) {
          lines.push(`${name}: signaling=${pc.signalingState} ice=${pc.iceConnectionState} connection=${pc.connectionState}`);
          for (const r of pc.rtp) {
            if (r.direction === 'inbound') lines.push(`  in ${r.kind} mid=${r.mid} ssrc=${r.ssrc} packets=${r.packets} lost=${r.packetsLost} bytes=${r.bytes} frames=${r.frames ?? '-'} keyframes=${r.keyFrames ?? '-'} pli=${r.pliCount ?? '-'}`);
            else lines.push(`  out ${r.kind} mid=${r.mid} rid=${r.rid ?? '-'} packets=${r.packets} bytes=${r.bytes} frames=${r.frames ?? '-'} pli=${r.pliCount ?? '-'} limited=${r.qualityLimitationReason ?? '-'}`);
          }
        }
        const started = state.events[0]?.at ?? 0;
        lines.push(`events: ${state.events.map((e) => `+${e.at - started}ms ${e.name} ${e.detail}`).join('; ') || '(none)'}`);
        return lines.join('\n');
      }, undefined)
      .catch((error: Error) => `diagnostics unavailable: ${error.message}`);
    return `--- ${this.identity} (${this.page.name}) ---\n${report}`;
  }

  /** Runs `wait`; if it fails, the error also carries the diagnostics of `participants`. */
  static async explained<T>(participants: SdkParticipant[], wait: () => Promise<T>): Promise<T> {
    try {
      return await wait();
    } catch (error) {
      const message = (error as Error).message;
      // Nested waits: a participant already explained by an inner wait is not repeated.
      const missing = participants.filter((p) => !message.includes(`--- ${p.identity} (`));
      const reports = await Promise.all(missing.map((p) => p.diagnostics()));
      throw new Error([message, ...reports].join('\n'));
    }
  }

  /** Waits until `a` and `b` each decode the other's video and receive its audio; returns what each receives. */
  static waitForMediaBetween(a: SdkParticipant, b: SdkParticipant, minFrames = 10, timeoutMs?: number): Promise<[StreamFigures[], StreamFigures[]]> {
    return SdkParticipant.explained([a, b], () => Promise.all([a.waitForMediaFrom(b.identity, minFrames, timeoutMs), b.waitForMediaFrom(a.identity, minFrames, timeoutMs)]));
  }

  /** Waits until video from `from` has decoded more than `minFrames` and its audio bytes flow. */
  async waitForMediaFrom(from: string, minFrames: number, timeoutMs = 20_000): Promise<StreamFigures[]> {
    await SdkParticipant.explained([this], () => this.page.waitFor(
      async ({ from, minFrames }) => {
        const state = (window as unknown as ParleyWindow).__parley;
        const stats = await state.room.getStats();
        const video = stats.find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video');
        const audio = stats.find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'audio');
        return (video?.frames ?? 0) > minFrames && (audio?.bytes ?? 0) > 0;
      },
      { from, minFrames },
      { timeoutMs, what: `${this.identity}: video frames > ${minFrames} and audio bytes from ${from}` },
    ));
    return (await this.stats()).filter((s) => s.participant === from && s.direction === 'inbound');
  }

  /** Waits until video from `from` has decoded more than `minFrames` (no audio needed). */
  async waitForVideoFrom(from: string, minFrames: number, timeoutMs = 30_000): Promise<StreamFigures> {
    await SdkParticipant.explained([this], () => this.page.waitFor(
      async ({ from, minFrames }) => {
        const stats = await (window as unknown as ParleyWindow).__parley.room.getStats();
        return (stats.find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')?.frames ?? 0) > minFrames;
      },
      { from, minFrames },
      { timeoutMs, what: `${this.identity}: video frames > ${minFrames} from ${from}` },
    ));
    return (await this.stats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')!;
  }

  /**
   * The longest stretch (ms) in which no new frame of `from`'s video was decoded, and the frames
   * decoded, sampled every 100 ms for `ms`, across connections: each RTP stream (by SSRC) counts
   * from when it first shows, and keeps its last count once it goes away (a call moving from P2P to
   * the SFU closes the direct link), so frames the SFU's stream decoded while the direct one still
   * ran count, and only a real stall shows as a gap. `startsAt`: the page's clock (performance.now())
   * at the gap's start; a page starved of CPU samples late, and its own pause is in the gap.
   */
  longestVideoGapMs(from: string, ms: number): Promise<{ gapMs: number; startsAt: number; frames: number; around: string }> {
    return this.page.evaluate(
      async ({ from, ms }) => {
        const state = (window as unknown as ParleyWindow).__parley;
        const samples: Array<{ at: number; took: number; streams: string }> = [];
        // Per stream: frames it decoded before a counter reset (the same SSRC on a new connection), and now.
        const byStream = new Map<number | string, { before: number; now: number }>();
        const decodedNow = async () => {
          const started = Date.now();
          const streams = (await state.room.getStats()).filter((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video');
          samples.push({ at: started, took: Date.now() - started, streams: streams.map((s) => `${s.candidateType ?? '?'} ${s.frameHeight ?? 0}p frames=${s.frames ?? 0} packets=${s.packets}`).join(' | ') });
          streams.forEach((s, index) => {
            const key = s.ssrc ?? `stream ${index}`;
            const counts = byStream.get(key) ?? { before: 0, now: 0 };
            const frames = s.frames ?? 0;
            if (frames < counts.now) counts.before += counts.now;
            counts.now = frames;
            byStream.set(key, counts);
          });
          let total = 0;
          for (const counts of byStream.values()) total += counts.before + counts.now;
          return total;
        };
        const first = await decodedNow();
        let last = first;
        let lastChange = performance.now();
        let lastChangeAt = Date.now();
        let gapMs = 0;
        let startsAt = lastChange;
        let gapFrom = lastChangeAt;
        let gapTo = lastChangeAt;
        const end = performance.now() + ms;
        while (performance.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const frames = await decodedNow();
          if (frames > last) {
            last = frames;
            lastChange = performance.now();
            lastChangeAt = Date.now();
          }
          if (performance.now() - lastChange > gapMs) [gapMs, startsAt, gapFrom, gapTo] = [performance.now() - lastChange, lastChange, lastChangeAt, Date.now()];
        }
        // What the page had around the longest gap (Date.now() ms from its start): each stats
        // sample (how long getStats took; per stream its candidate type, height, frames, packets)
        // and the room's events, so a long gap says where it was.
        const around = [
          ...samples.filter((s) => s.at >= gapFrom - 300 && s.at <= gapTo + 100).map((s) => ({ at: s.at, line: `stats (${s.took} ms): ${s.streams}` })),
          ...state.events.filter((e) => e.at >= gapFrom - 1000 && e.at <= gapTo + 100).map((e) => ({ at: e.at, line: `event ${e.name} ${e.detail}` })),
        ]
          .sort((x, y) => x.at - y.at)
          .map((x) => `${x.at - gapFrom} ms: ${x.line}`)
          .join('\n');
        return { gapMs: Math.round(gapMs), startsAt, frames: last - first, around: `0 ms = ${new Date(gapFrom).toISOString()}\n${around}` };
      },
      { from, ms },
    );
  }

  /** The page's clock (performance.now()): where `longestPresentedGapSince` starts. */
  pageNow(): Promise<number> {
    return this.page.evaluate(() => performance.now(), undefined);
  }

  /**
   * The longest time, from `since` (`pageNow()`) until now, between two frames of `from`'s
   * `source` presented to this viewer (requestVideoFrameCallback on the element showing the track
   * the SDK gave last; `since` and now count as edges), and how many frames were presented.
   * Unlike `longestVideoGapMs` (frames decoded, summed over every connection), a track the SDK
   * replaced stops counting at once, and a new one counts from its first presented frame.
   * `startsAtMs`: when the longest gap began, after `since`.
   */
  longestPresentedGapSince(from: string, since: number, source = 'camera'): Promise<{ gapMs: number; startsAtMs: number; frames: number }> {
    return this.page.evaluate(
      ({ key, since }) => {
        const state = (window as unknown as ParleyWindow).__parley;
        const end = performance.now();
        const times = (state.presented[key] ?? []).filter((t) => t >= since && t <= end);
        let gapMs = 0;
        let startsAtMs = 0;
        let previous = since;
        for (const t of [...times, end]) {
          if (t - previous > gapMs) [gapMs, startsAtMs] = [t - previous, previous - since];
          previous = t;
        }
        return { gapMs: Math.round(gapMs), startsAtMs: Math.round(startsAtMs), frames: times.length };
      },
      { key: `${from}:${source}`, since },
    );
  }

  topology(): Promise<string | undefined> {
    return this.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.topology, undefined);
  }

  /** How many direct (P2P) connections the room holds. */
  directLinks(): Promise<number> {
    return this.page.evaluate(async () => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).links.length, undefined);
  }

  async waitForEvent(name: string, detail: string, timeoutMs = 10_000): Promise<void> {
    await this.page.waitFor(
      ({ name, detail }) => (window as unknown as ParleyWindow).__parley.events.some((e) => e.name === name && e.detail === detail),
      { name, detail },
      { timeoutMs, what: `${this.identity}: event ${name} ${detail}` },
    );
  }

  async remoteIdentities(): Promise<string[]> {
    return this.page.evaluate(() => [...(window as unknown as ParleyWindow).__parley.room.remoteParticipants.keys()], undefined);
  }

  async setCameraEnabled(enabled: boolean): Promise<void> {
    await this.page.evaluate((on) => (window as unknown as ParleyWindow).__parley.room.localParticipant.setCameraEnabled(on), enabled);
  }

  /** The error code setCameraEnabled(true) is refused with, or 'OK'. */
  async tryCamera(): Promise<string> {
    return this.page.evaluate(
      () =>
        (window as unknown as ParleyWindow).__parley.room.localParticipant.setCameraEnabled(true).then(
          () => 'OK',
          (error: { code?: string }) => error.code ?? 'UNKNOWN',
        ),
      undefined,
    );
  }

  /** Inbound video frames decoded so far from `from`. */
  async framesFrom(from: string): Promise<number> {
    return (await this.stats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')?.frames ?? 0;
  }

  async disconnect(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.disconnect(), undefined);
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}
