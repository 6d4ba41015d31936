/**
 * Synthetic WebRTC clients for the SFU's end-to-end tests (sfu-signaling.test.ts): a publisher
 * that sends hand-made VP8 RTP like an encoder (a frame every 20 ms, keyframes on PLI, resends on
 * NACK), a subscriber that keeps every RTP packet it receives, and a UDP relay that drops one
 * chosen packet toward a subscriber. Built on node-datachannel over loopback (DTLS-SRTP, ICE).
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { parseRtcp } from '../../src/sfu/rtp/rtcp.ts';
import { isRtcp, marker, payloadOffset, payloadType, sequenceNumber, ssrc, timestamp } from '../../src/sfu/rtp/rtp.ts';
import { gatheredDescription, loopbackPeer } from './loopback-peer.ts';

/** What a test closes when it ends. */
export type Cleanups = Array<() => void | Promise<void>>;

export const MEDIA_TIMEOUT_MS = 10_000;
export const VP8_PT = 96;
export const FRAME_INTERVAL_MS = 20;
export const CLOCK_RATE = 90_000;

/** Polls `condition` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = MEDIA_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One RTP packet per VP8 frame: descriptor (S=1, PID 0), frame tag (P=0 on keyframes), frame counter. */
function vp8Packet(sequence: number, rtpTimestamp: number, packetSsrc: number, frame: number, keyframe: boolean): Buffer {
  const packet = Buffer.alloc(12 + 1 + 10 + 4 + 160, 0x5a);
  packet[0] = 0x80;
  packet[1] = 0x80 | VP8_PT;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 4);
  packet.writeUInt32BE(packetSsrc, 8);
  packet[12] = 0x10;
  Buffer.from(keyframe ? [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01] : [0x51, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]).copy(packet, 13);
  packet.writeUInt32BE(frame, 23);
  return packet;
}

/** A camera as an encoder would drive it: a frame every 20 ms, a keyframe first and after each PLI. */
export class SyntheticPublisher {
  readonly pc: PeerConnection;
  readonly ssrc = 0x1000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  readonly track: Track;
  /** When each PLI for this SSRC arrived. */
  readonly plis: number[] = [];
  /** Sequence numbers NACKed for this SSRC. */
  readonly nacked: number[] = [];
  /** Recent packets by sequence number, to answer NACKs. */
  private readonly recent = new Map<number, Buffer>();
  private withheld = 0;
  frames = 0;
  keyframes = 0;
  private sequence = Math.floor(Math.random() * 0xffff);
  private rtpTimestamp = Math.floor(Math.random() * 0xffff_ffff);
  private keyframeWanted = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(cleanups: Cleanups) {
    this.pc = loopbackPeer('publisher', cleanups);
    const video = new nodeDataChannel.Video('0', 'SendOnly');
    video.addVP8Codec(VP8_PT);
    video.addSSRC(this.ssrc, 'synthetic', 'synthetic-stream', 'synthetic-camera');
    this.track = this.pc.addTrack(video);
    this.track.onMessage((message) => {
      if (!isRtcp(message)) return;
      for (const report of parseRtcp(message)) {
        if (report.type === 'pli' && report.mediaSsrc === this.ssrc) {
          this.plis.push(performance.now());
          this.keyframeWanted = true;
        }
        if (report.type === 'nack' && report.mediaSsrc === this.ssrc) {
          this.nacked.push(...report.lost);
          for (const sequence of report.lost) {
            const packet = this.recent.get(sequence);
            if (packet) this.track.sendMessageBinary(packet);
          }
        }
      }
    });
    cleanups.push(() => this.stop());
  }

  /**
   * The offer, without this side's candidates: the SFU then learns the address from this side's
   * checks. With them, its checks can arrive before the answer, and libdatachannel (an offerer
   * here, unlike a browser) may then refuse the answer ("Got a remote candidate without ICE transport").
   */
  async offer(): Promise<string> {
    return (await gatheredDescription(this.pc, 3000)).replace(/^a=candidate:.*\r\n/gm, '');
  }

  async connect(answer: string): Promise<void> {
    this.pc.setRemoteDescription(answer, 'answer');
    await until(() => this.track.isOpen(), 'the publisher track to open');
  }

  start(): void {
    this.timer = setInterval(() => this.sendFrame(), FRAME_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The next packet is lost on the way to the SFU (kept to answer a NACK); resolves with its frame number and sequence. */
  loseNext(): Promise<{ frame: number; sequence: number }> {
    this.withheld += 1;
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.withheld > 0) return;
        clearInterval(check);
        resolve({ frame: this.frames - 1, sequence: (this.sequence - 1) & 0xffff });
      }, 5);
    });
  }

  private sendFrame(): void {
    if (!this.track.isOpen()) return;
    const keyframe = this.keyframeWanted;
    this.keyframeWanted = false;
    if (keyframe) this.keyframes += 1;
    const packet = vp8Packet(this.sequence, this.rtpTimestamp, this.ssrc, this.frames, keyframe);
    this.recent.set(this.sequence, packet);
    this.recent.delete((this.sequence - 64) & 0xffff);
    if (this.withheld > 0 && !keyframe) this.withheld -= 1;
    else this.track.sendMessageBinary(packet);
    this.frames += 1;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.rtpTimestamp = (this.rtpTimestamp + (CLOCK_RATE * FRAME_INTERVAL_MS) / 1000) >>> 0;
  }
}

export interface ReceivedPacket {
  sequence: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  frame: number;
  keyframe: boolean;
  /** Date.now() as it arrived (this process's clock is the SFU worker's). */
  receivedAt: number;
}

/** Receives what the SFU offers: every RTP packet of every m-line, in arrival order. */
export class SyntheticSubscriber {
  readonly pc: PeerConnection;
  readonly tracks = new Map<string, Track>();
  readonly packets: ReceivedPacket[] = [];

  constructor(cleanups: Cleanups) {
    this.pc = loopbackPeer('subscriber', cleanups);
    this.pc.onTrack((track) => {
      this.tracks.set(track.mid(), track);
      track.onMessage((message) => {
        if (isRtcp(message)) return;
        const offset = payloadOffset(message);
        this.packets.push({
          sequence: sequenceNumber(message),
          timestamp: timestamp(message),
          ssrc: ssrc(message),
          payloadType: payloadType(message),
          marker: marker(message),
          frame: message.readUInt32BE(offset + 11),
          keyframe: (message[offset + 1]! & 0x01) === 0,
          receivedAt: Date.now(),
        });
      });
    });
  }

  /**
   * Answers a subscriber offer. `via` rewrites where the SFU is reached (a relay) and hides this
   * side's own candidates, so that the relay is the only path.
   */
  async answer(offer: string, via?: { port: number }): Promise<string> {
    const remote = via ? offer.replace(/^a=candidate:.*\r\n/gm, '').replace(/^(a=mid:.*\r\n)/m, `$1a=candidate:1 1 UDP 2114977791 127.0.0.1 ${via.port} typ host\r\n`) : offer;
    this.pc.setRemoteDescription(remote, 'offer');
    const answer = await gatheredDescription(this.pc, 3000);
    return via ? answer.replace(/^a=candidate:.*\r\n/gm, '') : answer;
  }

  /** The RTCP sender side of the subscriber: NACK, PLI. */
  sendRtcp(mid: string, packet: Buffer): void {
    const track = this.tracks.get(mid);
    assert.ok(track?.isOpen(), `subscriber track ${mid} is open`);
    assert.equal(track!.sendMessageBinary(packet), true, 'RTCP sent');
  }
}

/**
 * A UDP relay between a subscriber and the SFU port that drops one chosen RTP packet toward the
 * subscriber, like a lossy link: SRTP leaves the RTP header in the clear.
 */
export class LossyRelay {
  readonly seen = new Map<number, number>();
  dropped: number | undefined;
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private client: RemoteInfo | undefined;
  private mediaPackets = 0;

  private constructor(
    private readonly target: number,
    private readonly dropNth: number,
  ) {
    this.front.on('message', (message, from) => {
      this.client = from;
      this.back.send(message, this.target, '127.0.0.1');
    });
    this.back.on('message', (message) => {
      if (!this.client) return;
      const rtpVersion2 = message.length >= 12 && message[0]! >> 6 === 2 && !isRtcp(message);
      if (rtpVersion2 && payloadType(message) === VP8_PT) {
        const sequence = sequenceNumber(message);
        this.seen.set(sequence, (this.seen.get(sequence) ?? 0) + 1);
        this.mediaPackets += 1;
        if (this.mediaPackets === this.dropNth) {
          this.dropped = sequence;
          return;
        }
      }
      this.front.send(message, this.client.port, this.client.address);
    });
  }

  static async start(target: number, dropNth: number, cleanups: Cleanups): Promise<LossyRelay> {
    const relay = new LossyRelay(target, dropNth);
    await Promise.all([relay.front, relay.back].map((socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))));
    cleanups.push(() => relay.close());
    return relay;
  }

  get port(): number {
    return this.front.address().port;
  }

  close(): void {
    for (const socket of [this.front, this.back]) {
      try {
        socket.close();
      } catch {
        // closed already
      }
    }
  }
}
