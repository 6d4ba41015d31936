/** Audio level (RFC 6464: -dBov, 0 loudest, 127 silence) louder than this counts as speech. */
const SPEECH_LEVEL = 50;
/** Weight of the newest window in the smoothed loudness: fast enough to follow turns, slow enough not to flap. */
const SMOOTHING = 0.5;
/** Smoothed share of loud packets above which a participant is an active speaker. */
const ACTIVE_SHARE = 0.3;

/**
 * Active speakers from the audio-level header extension: per participant the share of packets
 * louder than speech level, smoothed over successive windows.
 */
export class ActiveSpeakerDetector {
  private readonly window = new Map<string, { loud: number; total: number }>();
  private readonly smoothed = new Map<string, number>();
  private current: string[] = [];

  onLevel(participant: string, level: number): void {
    let counts = this.window.get(participant);
    if (!counts) {
      counts = { loud: 0, total: 0 };
      this.window.set(participant, counts);
    }
    counts.total += 1;
    if (level <= SPEECH_LEVEL) counts.loud += 1;
  }

  forget(participant: string): void {
    this.window.delete(participant);
    this.smoothed.delete(participant);
  }

  /** Closes the window; returns the new list (loudest first) when it changed. */
  evaluate(): string[] | undefined {
    for (const participant of new Set([...this.window.keys(), ...this.smoothed.keys()])) {
      const counts = this.window.get(participant);
      const share = counts && counts.total > 0 ? counts.loud / counts.total : 0;
      this.smoothed.set(participant, (this.smoothed.get(participant) ?? 0) * (1 - SMOOTHING) + share * SMOOTHING);
    }
    this.window.clear();
    const speakers = [...this.smoothed]
      .filter(([, share]) => share >= ACTIVE_SHARE)
      .sort((a, b) => b[1] - a[1])
      .map(([participant]) => participant);
    const changed = speakers.length !== this.current.length || speakers.some((speaker, i) => speaker !== this.current[i]);
    if (!changed) return undefined;
    this.current = speakers;
    return speakers;
  }
}
