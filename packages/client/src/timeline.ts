/**
 * A debug timeline of one Room's connection steps: when the join was answered, when each
 * publishing or receiving connection got its offer and answer, ICE and DTLS, when tracks arrived.
 * `npm run bench:join` reads it from the page (`room.timeline`) to find where a join spends its
 * time; apps may log it. Times are wall-clock milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`), so pages and the server on one machine share
 * a clock.
 */
export type TimelineStep =
  | 'connect'
  | 'joined'
  /** SFU, `detail` = source: the offer sent, the SFU's answer received. */
  | 'publishOffer'
  | 'publishAnswer'
  /** SFU, `detail` = the offer's tracks as `identity:source` joined with commas. */
  | 'subscriberOffer'
  | 'subscriberAnswer'
  /** SFU, `detail` = `<offerId> <what was done>: <error>`: an answer that did not get through and did not call for a fresh connection (`sfu/subscriber-negotiation.ts`). */
  | 'subscriberAnswerFailed'
  /** SFU, `detail` = `<offerId> answerAgain|ignore`: an offer already answered, re-sent (after a resume) or a late copy. */
  | 'subscriberOfferRepeated'
  /** P2P, `detail` = the remote identity: an offer or answer sent, an offer received and applied. */
  | 'p2pOffer'
  | 'p2pAnswer'
  | 'p2pOfferReceived'
  | 'p2pOfferApplied'
  /** `detail` = the connection: `pub:<source>`, `sub`, or `p2p:<identity>`. */
  | 'iceConnected'
  | 'dtlsConnected'
  /** `detail` = `identity:source`. */
  | 'trackSubscribed'
  /** The first video frame decoded from anyone (polled every 100 ms from the first video track). */
  | 'firstFrameDecoded'
  /** SFU, `detail` = the source and why: a `publishTrack` request sent again (its reply lost with the signaling connection, or late). */
  | 'publishAgain'
  /** SFU, `detail` = why: the receiving connection was dropped and a fresh one asked for (every track again). */
  | 'resubscribe'
  | 'topologyChanged';

export interface TimelineMark {
  step: TimelineStep;
  at: number;
  detail: string;
}

/** Marks beyond this are dropped: a long call must not grow the timeline without end. */
const MAX_MARKS = 2000;

export class Timeline {
  private readonly list: TimelineMark[] = [];

  get marks(): readonly TimelineMark[] {
    return this.list;
  }

  mark(step: TimelineStep, detail = ''): void {
    if (this.list.length < MAX_MARKS) this.list.push({ step, at: performance.timeOrigin + performance.now(), detail });
  }

  /** Marks `iceConnected` and `dtlsConnected` (connectionState `connected`) of `pc` the first time each happens. */
  watch(pc: RTCPeerConnection, detail: string): void {
    let ice = false;
    let dtls = false;
    const check = () => {
      if (!ice && (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed')) {
        ice = true;
        this.mark('iceConnected', detail);
      }
      if (!dtls && pc.connectionState === 'connected') {
        dtls = true;
        this.mark('dtlsConnected', detail);
      }
    };
    pc.addEventListener('iceconnectionstatechange', check);
    pc.addEventListener('connectionstatechange', check);
  }
}
