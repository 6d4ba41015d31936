/**
 * Paces the keyframe requests (PLI) the SFU sends a publisher for one simulcast layer.
 *
 * Each request makes the publisher's encoder spend a keyframe, several times the size of a delta
 * frame, so requests closer together than `intervalMs` are not sent at once. They are owed
 * instead, and sent when the interval has passed, unless a keyframe arrived meanwhile (it reached
 * every subscriber whose stream was open, which is what the request was for). A dropped request
 * would leave a subscriber whose stream opened just after another's without a picture until its
 * next poll asked again, and several subscribers open at once when a room moves to the SFU or
 * fails over to another node.
 */
export class KeyframeRequests {
  private lastSentAt = -Infinity;
  private owed = false;

  constructor(private readonly intervalMs: number) {}

  /** A subscriber needs a keyframe: true to send the request now, false if it is owed. */
  request(now: number): boolean {
    if (now - this.lastSentAt >= this.intervalMs) {
      this.lastSentAt = now;
      this.owed = false;
      return true;
    }
    this.owed = true;
    return false;
  }

  /** Whether an owed request is due now; if so it counts as sent. Called on a timer. */
  due(now: number): boolean {
    if (!this.owed || now - this.lastSentAt < this.intervalMs) return false;
    this.lastSentAt = now;
    this.owed = false;
    return true;
  }

  /** Whether a request is owed: only then do incoming packets need checking for a keyframe. */
  get waiting(): boolean {
    return this.owed;
  }

  /** A keyframe came from the publisher after the owed request: nothing is owed any more. */
  keyframeArrived(): void {
    this.owed = false;
  }
}
