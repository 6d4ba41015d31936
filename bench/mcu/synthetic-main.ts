/**
 * `bench:mcu`'s synthetic participants (`--browsers`), a child process of `run.ts`: each joins the
 * room through the real signaling (the SDK's protocol over WebSocket, a dev token as the pages
 * get) and, over node-datachannel peers on loopback (DTLS-SRTP, ICE), publishes
 * - a camera: real VP8 the mixer can decode, 640x360 at 15 fps, the picture of the pages' canvas
 *   in its own colour (`synthetic-picture.ts`) encoded live by the mixer's own encoder
 *   (`GridEncoder`: ffmpeg libvpx realtime, one process per camera), a PLI answered with a
 *   keyframe (the encoder's restart);
 * - a microphone: an Opus tone every 20 ms (`TonePublisher`, as the webinar test's speakers);
 * and receives what a browser would (it answers every subscriber offer), sending transport-wide
 * congestion feedback for it (`TwccRecorder`) so that the server's downlink estimate, and with it
 * what the SFU forwards and the MCU's grid tier, follow the link as for a browser.
 *
 * A child so that its CPU (its node-datachannel threads, the Opus encodes, its ffmpegs) counts as
 * the clients', apart from the server's, and its timers do not share the event loop of the
 * server's signaling. Talks to `run.ts` in lines of JSON: argv[2] is the configuration; it prints
 * `{"ready":true}` once every camera and microphone is open, `{"stats":...}` for each `stats` line
 * read on stdin, and exits on `stop` (or stdin's end) with `process.exit` after closing its peers:
 * libdatachannel's own cleanup at exit crashed such processes (webinar-room-main.ts says how).
 */
import { createInterface } from 'node:readline';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { fetchDevToken } from '../../packages/client/src/dev-token.ts';
import type { ServerMessage } from '@parley/protocol';
import { GridEncoder } from '../../packages/server/src/mcu/video/ffmpeg-video.ts';
import { RtpClock } from '../../packages/server/src/mcu/video/grid.ts';
import { Vp8RtpStream } from '../../packages/server/src/mcu/video/vp8-packetizer.ts';
import { parseRtcp } from '../../packages/server/src/sfu/rtp/rtcp.ts';
import { SubscriberExtensionId } from '../../packages/server/src/sfu/rtp/header-extensions.ts';
import { isRtcp, ssrc as ssrcOf } from '../../packages/server/src/sfu/rtp/rtp.ts';
import { transportSequence, TwccRecorder } from '../../packages/server/src/sfu/rtp/twcc.ts';
import { TestClient } from '../../packages/server/test/helpers.ts';
import { TonePublisher } from '../../packages/server/test/mcu/tones.ts';
import { gatheredDescription, loopbackPeer } from '../../packages/server/test/sfu/loopback-peer.ts';
import { cameraLoop, type Rgb } from './synthetic-picture.ts';

export interface SyntheticConfig {
  serverUrl: string;
  wsUrl: string;
  room: string;
  topology: 'mcu' | 'sfu';
  participants: Array<{ identity: string; rgb: Rgb; hz: number }>;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  ffmpeg: string;
}

export interface SyntheticStats {
  /** Per participant, in its order: RTP bytes sent (camera and microphone) and received, frames encoded, PLIs. */
  participants: Array<{ identity: string; sent: number; received: number; frames: number; keyframes: number; plis: number }>;
}

const VP8_PT = 96;
const OPUS_PT = 111;
const TIMEOUT_MS = 30_000;
/** How often a receiver sends transport-wide feedback (libwebrtc: every 50-100 ms). */
const FEEDBACK_MS = 50;

const config = JSON.parse(process.argv[2]!) as SyntheticConfig;
const cleanups: Array<() => void | Promise<void>> = [];
const errors: string[] = [];

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The offer without this side's candidates (the server learns the address from its checks; see SyntheticPublisher.offer in the server's tests). */
const withoutCandidates = (sdp: string) => sdp.replace(/^a=candidate:.*\r\n/gm, '');

async function publish(client: TestClient, pc: PeerConnection, track: Track, source: 'camera' | 'microphone'): Promise<void> {
  const offer = withoutCandidates(await gatheredDescription(pc, TIMEOUT_MS));
  const reply = await client.request({ type: 'publishTrack', source, sdp: offer }, TIMEOUT_MS);
  if (reply.type !== 'trackPublished') throw new Error(`publishing the ${source} failed: ${JSON.stringify(reply)}`);
  pc.setRemoteDescription(reply.sdp, 'answer');
  await until(() => track.isOpen(), `the ${source} track to open`);
}

class Participant {
  sent = 0;
  received = 0;
  plis = 0;
  private client!: TestClient;
  private encoder: GridEncoder | undefined;
  /** Held as long as their peers: libdatachannel calls into them for every packet. */
  private readonly held: unknown[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly subscriber = loopbackPeer('subscriber', cleanups);
  private readonly subscribed: Track[] = [];
  private readonly twcc = new TwccRecorder();
  private mediaSsrc = 0;
  private readonly feedbackSsrc = 0x3000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  private answered = 0;

  constructor(
    readonly identity: string,
    private readonly rgb: Rgb,
    private readonly hz: number,
    private readonly seed: number,
  ) {
    this.subscriber.onTrack((track) => {
      this.subscribed.push(track);
      track.onMessage((message) => {
        if (isRtcp(message)) return;
        this.received += message.length;
        this.mediaSsrc = ssrcOf(message);
        const sequence = transportSequence(message, SubscriberExtensionId.transportSequence);
        if (sequence !== undefined) this.twcc.onPacket(sequence, performance.now() * 1000);
      });
    });
    cleanups.push(() => this.stop());
  }

  get frames(): number {
    return this.encoder?.frames ?? 0;
  }

  get keyframes(): number {
    return this.encoder?.keyframes ?? 0;
  }

  async join(): Promise<void> {
    const token = await fetchDevToken(config.serverUrl, { room: config.room, identity: this.identity, name: this.identity, roomConfig: { topology: config.topology } });
    this.client = await TestClient.open({ wsUrl: config.wsUrl });
    cleanups.push(() => this.client.close());
    const reply = await this.client.request({ type: 'join', token }, TIMEOUT_MS);
    if (reply.type !== 'joined') throw new Error(`${this.identity}: join failed: ${JSON.stringify(reply)}`);
    this.timers.push(setInterval(() => void this.answerOffers().catch((error: Error) => errors.push(`${this.identity}: ${error.message}`)), 50));
    this.timers.push(setInterval(() => this.sendFeedback(), FEEDBACK_MS));
  }

  async publishCamera(): Promise<void> {
    const pc = loopbackPeer('camera', cleanups);
    const video = new nodeDataChannel.Video('0', 'SendOnly');
    video.addVP8Codec(VP8_PT);
    const rtp = new Vp8RtpStream(0x1000_0000 + Math.floor(Math.random() * 0x0fff_ffff), VP8_PT);
    video.addSSRC(rtp.ssrc, `${this.identity}-camera`, `${this.identity}-stream`, `${this.identity}-camera`);
    const track = pc.addTrack(video);
    this.held.push(video, track);
    track.onMessage((message) => {
      if (!isRtcp(message)) return;
      for (const report of parseRtcp(message)) {
        if (report.type === 'pli' && report.mediaSsrc === rtp.ssrc) {
          this.plis += 1;
          this.encoder?.requestKeyframe();
        }
      }
    });
    await publish(this.client, pc, track, 'camera');
    const clock = new RtpClock();
    const { width, height, fps } = config;
    this.encoder = new GridEncoder(
      { ffmpegPath: config.ffmpeg, width, height, onError: (message) => errors.push(`${this.identity}'s camera: ${message}`) },
      // A keyframe by itself every 10 s; the mixer and the browsers ask for the others.
      { fps, bitrateKbps: config.bitrateKbps, keyframeInterval: fps * 10 },
      (frame) => {
        if (!track.isOpen()) return;
        for (const packet of rtp.packets(frame, clock.now())) {
          track.sendMessageBinary(packet);
          this.sent += packet.length;
        }
      },
    );
    const pictures = cameraLoop(width, height, this.rgb, this.seed);
    let index = 0;
    // Paced by the wall clock, as a camera is; a picture the encoder is still busy with is skipped.
    this.timers.push(setInterval(() => this.encoder?.encode({ width, height, data: pictures[index++ % pictures.length]! }), 1000 / fps));
  }

  async publishMicrophone(): Promise<void> {
    const pc = loopbackPeer('microphone', cleanups);
    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(OPUS_PT);
    audio.addSSRC(0x2000_0000 + this.hz, `${this.identity}-microphone`, `${this.identity}-stream`, `${this.identity}-microphone`);
    const track = pc.addTrack(audio);
    const tone = new TonePublisher(this.hz);
    this.held.push(audio, track);
    cleanups.push(() => tone.close());
    await publish(this.client, pc, track, 'microphone');
    this.timers.push(
      setInterval(() => {
        if (!track.isOpen()) return;
        const packet = tone.next();
        track.sendMessageBinary(packet);
        this.sent += packet.length;
      }, 20),
    );
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.encoder?.close();
  }

  /** Answers the newest subscriber offer not answered yet (the server renegotiates as tracks come and go). */
  private answering = false;
  private async answerOffers(): Promise<void> {
    if (this.answering) return;
    const offers = this.client.of('subscriberOffer');
    if (offers.length === this.answered) return;
    this.answering = true;
    try {
      const offer = offers.at(-1)!;
      this.answered = offers.length;
      this.subscriber.setRemoteDescription(offer.sdp, 'offer');
      // Without this side's candidates, as the webinar test's listeners: the SFU (the offerer) refused an answer with them now and then.
      const answer = withoutCandidates(await gatheredDescription(this.subscriber, TIMEOUT_MS));
      const reply: ServerMessage = await this.client.request({ type: 'subscriberAnswer', sdp: answer }, TIMEOUT_MS);
      if (reply.type !== 'ack') throw new Error(`subscriberAnswer refused: ${JSON.stringify(reply)}`);
    } finally {
      this.answering = false;
    }
  }

  private sendFeedback(): void {
    const track = this.subscribed.find((t) => t.isOpen());
    if (!track) return;
    for (const packet of this.twcc.takeFeedback(this.feedbackSsrc, this.mediaSsrc)) track.sendMessageBinary(packet);
  }
}

function print(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let shuttingDown: Promise<never> | undefined;
/** Closes every peer and encoder, then exits (once: `stop` and stdin's end both ask). */
function shutDown(code: number): Promise<never> {
  shuttingDown ??= closeAndExit(code);
  return shuttingDown;
}

async function closeAndExit(code: number): Promise<never> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // closing anyway
    }
  }
  process.exit(code);
}

const participants = config.participants.map((p, i) => new Participant(p.identity, p.rgb, p.hz, i + 1));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'stats') {
    const stats: SyntheticStats = { participants: participants.map((p) => ({ identity: p.identity, sent: p.sent, received: p.received, frames: p.frames, keyframes: p.keyframes, plis: p.plis })) };
    print({ stats, errors: errors.splice(0) });
  } else if (line === 'stop') void shutDown(0);
});
lines.on('close', () => void shutDown(0));

try {
  for (const participant of participants) {
    await participant.join();
    await participant.publishMicrophone();
    await participant.publishCamera();
  }
  print({ ready: true });
} catch (error) {
  print({ failed: `${(error as Error).message}${errors.length ? ` (${errors.join('; ')})` : ''}` });
  await shutDown(1);
}
