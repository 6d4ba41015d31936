import { ParleyError } from '../errors.js';

/**
 * The receiving connection's negotiation decisions, kept pure so they can be tested without a
 * browser (`SfuSubscriber` acts on them). The SFU numbers its subscriber offers (`offerId`, from
 * 1, a re-sent offer keeping its number, a fresh connection continuing the numbering) and never
 * makes the next before the last is answered, so an offer's number alone says what it is.
 */

/** What to do with a `subscriberOffer`. */
export type OfferAction =
  /** A new offer: apply it and answer. */
  | 'apply'
  /** The offer last answered, sent again (the server re-sends the offer waiting after a signaling resume): send the same answer again, the connection untouched. */
  | 'answerAgain'
  /** Older than the offer last answered (a late copy): nothing to do. */
  | 'ignore';

/** `lastAnswered`: the number of the last offer this side applied and answered (undefined: none yet). */
export function offerAction(offerId: number, lastAnswered: number | undefined): OfferAction {
  if (lastAnswered === undefined || offerId > lastAnswered) return 'apply';
  return offerId === lastAnswered ? 'answerAgain' : 'ignore';
}

/** What to do after a `subscriberAnswer` request failed. */
export type AnswerFailureAction =
  /** The SFU did not take it because it is not the answer it waits for (`STALE_ANSWER`): it already has it, or a newer offer is on its way. The connection is fine. */
  | 'stale'
  /**
   * The signaling connection closed (or is resuming) with the answer in flight. When the session
   * resumes, the server re-sends the offer if it still waits for its answer (`answerAgain`); if it
   * had taken it, nothing is missing.
   */
  | 'awaitResend'
  /** No reply in time on a connection still open: the same answer again (harmless if it did arrive: `STALE_ANSWER`). */
  | 'again'
  /** The SFU refused the answer itself (or failed): the receiving connection cannot go on; start a fresh one. */
  | 'resubscribe';

/** Timeouts in a row for one answer before the receiving connection is given up. */
export const MAX_ANSWER_ATTEMPTS = 3;

/** `attempt`: how many times this answer was sent, counting the one that failed (from 1). */
export function answerFailureAction(error: unknown, attempt: number): AnswerFailureAction {
  const code = error instanceof ParleyError ? error.code : undefined;
  switch (code) {
    case 'STALE_ANSWER':
      return 'stale';
    case 'CONNECTION_LOST':
    case 'NOT_CONNECTED':
      return 'awaitResend';
    case 'REQUEST_TIMEOUT':
      return attempt < MAX_ANSWER_ATTEMPTS ? 'again' : 'resubscribe';
    default:
      return 'resubscribe';
  }
}
