/** Audio level (RFC 6464: -dBov, 0 loudest, 127 silence) louder than this counts as speech. */
const SPEECH_LEVEL = 50;
/**
 * How often the shares are judged. 250 ms: a turn (one voice stops as another starts) is named at
 * the end of the third window after it, 500-750 ms; with 500 ms windows it was the second, 500-1000
 * ms (measured 627-1030 ms as the MCU's speaker change, `npm run bench:mcu:layout`).
 */
export const SPEAKER_WINDOW_MS = 250;
/**
 * The smoothed loudness halves in this time without speech (and a new voice reaches half its share
 * in it): the guard against flapping between voices, the same whatever the window length.
 */
const HALF_LIFE_MS = 500;
/** Weight of the newest window in the smoothed loudness (0.29 for 250 ms windows). */
const SMOOTHING = 1 - 0.5 ** (SPEAKER_WINDOW_MS / HALF_LIFE_MS);
/** Smoothed share of loud packets above which a participant is an active speaker. */
const ACTIVE_SHARE = 0.3;

/**
 * Active speakers from the audio-level header extension: per participant the share of packets
 * louder than speech level, smoothed over successive windows. Someone who starts talking is
 * active after 500 ms, and inactive 1 s after they stop.
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
