import type { PeerClient, PublisherClient } from '../clients/client-pool.ts';

/** An SFU under test: started once, then one round (one publisher, N subscribers) per N. */
export interface SfuTarget {
  /** Short name used on the command line and in the ratio line: `janus`, `parley`. */
  readonly name: string;
  /** Human description with version, for the table heading. */
  readonly description: string;
  /** Which processes {@link processIds} returns, in words. */
  readonly measuredProcesses: string;
  start(): Promise<void>;
  /** Every process whose CPU counts as the SFU's (read at the start of each window). */
  processIds(): number[];
  /** Opens a fresh room and signals the publisher into it (its offer sent and answered). */
  openRound(publisher: PublisherClient): Promise<Round>;
  stop(): Promise<void>;
}

export interface Round {
  /**
   * Signals a subscriber in, once the publisher's media flows: it has answered the SFU's offer
   * for the publisher's video.
   */
  addSubscriber(subscriber: PeerClient): Promise<void>;
  /**
   * Parley: starts a server (`tracks`) recording of the room; the answer stops it and resolves
   * once its export is over (so it does not load the next round).
   */
  record?(): Promise<() => Promise<void>>;
  /** Leaves the room so the next round starts from an idle SFU. */
  leave(): Promise<void>;
}

/** The SFU cannot run here (not installed, not implemented yet): the message says what to do. */
export class TargetUnavailableError extends Error {}
