import type { SubscribedTrack, TrackSource, VideoQuality } from '@parley/protocol';
import type { StreamOwner } from '../stats.js';
import { requestAgain, WHILE_RECONNECTING_ATTEMPTS, type RequestSchedule } from './request-again.js';
import type { Timeline } from '../timeline.js';
import type { SignalChannel } from './sfu-publisher.js';
import { withOfferedReceiverReferenceTime } from './subscriber-answer.js';
import { answerFailureAction, offerAction } from './subscriber-negotiation.js';

export interface SfuSubscriberHandlers {
  trackAdded(info: SubscribedTrack, track: MediaStreamTrack): void;
  trackRemoved(info: SubscribedTrack, track: MediaStreamTrack): void;
  /** The receiving side could not be brought back (see `recover`). */
  failed(error: Error): void;
}

export interface SfuSubscriberOptions {
  signal: SignalChannel;
  configuration: RTCConfiguration;
  timeline: Timeline;
  handlers: SfuSubscriberHandlers;
}

/** `resubscribe` again each second while signaling reconnects, or its answer is late. */
export const RESUBSCRIBE_SCHEDULE: RequestSchedule = { lostDelayMs: 1000, lostAttempts: WHILE_RECONNECTING_ATTEMPTS, timeoutDelayMs: 1000, timeoutAttempts: WHILE_RECONNECTING_ATTEMPTS };

/** The `a=ice-ufrag` of an SDP (the first; a bundled SFU offer has one). */
function iceUfrag(sdp: string | undefined): string | undefined {
  return sdp?.match(/^a=ice-ufrag:(\S+)/m)?.[1];
}

/** Fresh receiving connections asked for in a row, none of which connected, before giving up. */
const MAX_RESUBSCRIBES_WITHOUT_CONNECTING = 3;

/**
 * What this participant receives from the SFU: one receiving PeerConnection the SFU offers and
 * renegotiates as tracks come and go (the server's side is `worker/subscriber-connection.ts`).
 * Offers apply one at a time, in the order they arrived. An answer that did not get through is
 * not a broken connection (`subscriber-negotiation.ts`): only one the SFU refused, a browser that
 * cannot apply an offer, or ICE/DTLS failing, rebuilds it.
 */
export class SfuSubscriber {
  /** The receiving connection, once the SFU offered one. Read by `room.debugState()`. */
  pc: RTCPeerConnection | undefined;
  /** What each m-line (by mid) of the current offer carries. */
  private readonly subscribed = new Map<string, SubscribedTrack>();
  private readonly receivedTracks = new Map<string, MediaStreamTrack>();
  private offers: Promise<void> = Promise.resolve();
  /** The last offer applied and the answer made to it, sent again if the SFU re-sends that offer. */
  private answered: { offerId: number; sdp: string; described: string } | undefined;
  private resubscribesWithoutConnecting = 0;
  /**
   * The ICE username fragment of the SFU's side of the connection last dropped (resubscribe):
   * that connection's offers still in flight are not for the fresh one, whose numbering continues
   * theirs (applied to the fresh connection, one made its m-lines disagree with the fresh offer's).
   */
  private droppedUfrag: string | undefined;
  /** The ICE username fragment of the last offer applied (or tried): the SFU's side of the current connection. */
  private offeredUfrag: string | undefined;
  private closed = false;

  constructor(private readonly options: SfuSubscriberOptions) {}

  /** The SFU's (re)offer `offerId` of everything this participant receives. Offers apply in order, each once `after` has settled. */
  receiveOffer(sdp: string, tracks: SubscribedTrack[], offerId: number, after: Promise<void> = Promise.resolve()): void {
    this.offers = this.offers.then(() => after).then(() => this.takeOffer(sdp, tracks, offerId)).catch((error: unknown) => {
      if (!this.closed) this.recover(error as Error);
    });
  }

  async setVideoQuality(trackId: string, quality: VideoQuality): Promise<void> {
    await this.options.signal.request({ type: 'setVideoQuality', trackId, quality });
  }

  trackIdOf(participant: string, source: TrackSource): string | undefined {
    for (const info of this.subscribed.values()) if (info.participant === participant && info.source === source) return info.trackId;
    return undefined;
  }

  /** Whose stream (by mid) a report of the receiving connection is about, for getStats. */
  describe(mid: string | undefined): StreamOwner | undefined {
    const info = mid === undefined ? undefined : this.subscribed.get(mid);
    return info ? { participant: info.participant, source: info.source } : undefined;
  }

  close(): void {
    this.closed = true;
    this.pc?.close();
    this.pc = undefined;
    this.subscribed.clear();
    this.receivedTracks.clear();
  }

  /**
   * The receiving side broke: an offer or answer was refused (an SFU worker that restarted may
   * refuse an answer, and then nothing would arrive), or ICE or DTLS failed. Start it afresh; only
   * when fresh connections keep failing before one connects does the room hear of it.
   */
  private recover(error: Error): void {
    this.options.timeline.mark('resubscribe', error.message);
    if (this.resubscribesWithoutConnecting >= MAX_RESUBSCRIBES_WITHOUT_CONNECTING) return this.options.handlers.failed(error);
    this.resubscribesWithoutConnecting++;
    this.resubscribe();
  }

  /** Drops the receiving connection and asks the SFU for a fresh one with every track. */
  private resubscribe(): void {
    this.droppedUfrag = this.offeredUfrag ?? this.droppedUfrag;
    this.pc?.close();
    this.pc = undefined;
    // The fresh connection's offers continue the numbering: `answered` still tells a late copy of an old offer.
    for (const [mid, info] of this.subscribed) {
      const track = this.receivedTracks.get(mid);
      if (track) this.options.handlers.trackRemoved(info, track);
    }
    this.subscribed.clear();
    this.receivedTracks.clear();
    requestAgain(() => this.options.signal.request({ type: 'resubscribe' }), { schedule: RESUBSCRIBE_SCHEDULE, wanted: () => !this.closed }).catch((error: Error) => {
      if (!this.closed) this.options.handlers.failed(error);
    });
  }

  private async takeOffer(sdp: string, tracks: SubscribedTrack[], offerId: number): Promise<void> {
    if (this.closed) return;
    if (this.droppedUfrag !== undefined && iceUfrag(sdp) === this.droppedUfrag) return this.options.timeline.mark('subscriberOfferRepeated', `${offerId} ignore: the dropped connection's`);
    const action = offerAction(offerId, this.answered?.offerId);
    if (action === 'apply') return this.applyOffer(sdp, tracks, offerId);
    this.options.timeline.mark('subscriberOfferRepeated', `${offerId} ${action}`);
    if (action === 'answerAgain' && this.answered && this.pc?.signalingState === 'stable') await this.sendAnswer(this.answered.offerId, this.answered.sdp, this.answered.described);
  }

  private async applyOffer(sdp: string, tracks: SubscribedTrack[], offerId: number): Promise<void> {
    const { timeline, handlers } = this.options;
    const pc = this.connection();
    const next = new Map(tracks.map((info) => [info.mid, info]));
    for (const [mid, info] of this.subscribed) {
      if (next.has(mid)) continue;
      const track = this.receivedTracks.get(mid);
      this.receivedTracks.delete(mid);
      if (track) handlers.trackRemoved(info, track);
    }
    this.subscribed.clear();
    for (const [mid, info] of next) this.subscribed.set(mid, info);
    const described = tracks.map((t) => `${t.participant}:${t.source}`).join(',');
    timeline.mark('subscriberOffer', described);
    this.offeredUfrag = iceUfrag(sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription({ type: 'answer', sdp: withOfferedReceiverReferenceTime(answer.sdp ?? '', sdp) });
    this.answered = { offerId, sdp: pc.localDescription!.sdp, described };
    await this.sendAnswer(offerId, this.answered.sdp, described);
  }

  /**
   * Sends the answer to offer `offerId`; resolves once the SFU took it, or once a failure was found
   * harmless (`answerFailureAction`). Rejects (and the connection is rebuilt) only when the SFU
   * refused it.
   */
  private async sendAnswer(offerId: number, sdp: string, described: string): Promise<void> {
    const { signal, timeline } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        // Inside the try: the room's channel throws NOT_CONNECTED synchronously while it reconnects.
        const answered = signal.request({ type: 'subscriberAnswer', sdp, offerId });
        timeline.mark('subscriberAnswer', described);
        await answered;
        return;
      } catch (error) {
        const action = answerFailureAction(error, attempt);
        if (action === 'resubscribe' || this.closed) throw error;
        timeline.mark('subscriberAnswerFailed', `${offerId} ${action}: ${(error as Error).message}`);
        if (action !== 'again') return;
      }
    }
  }

  /** The receiving connection, made on the first offer and after a resubscribe. */
  private connection(): RTCPeerConnection {
    if (this.pc) return this.pc;
    const pc = new RTCPeerConnection(this.options.configuration);
    this.options.timeline.watch(pc, 'sub');
    pc.ontrack = ({ track, transceiver }) => {
      const mid = transceiver.mid;
      const info = mid === null ? undefined : this.subscribed.get(mid);
      if (!info || mid === null) return;
      this.receivedTracks.set(mid, track);
      this.options.handlers.trackAdded(info, track);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === 'connected') this.resubscribesWithoutConnecting = 0;
      if (pc.connectionState === 'failed') this.recover(new Error('the receiving connection failed'));
    };
    this.pc = pc;
    return pc;
  }
}
