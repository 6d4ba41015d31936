/**
 * Who is the active speaker when, over a whole recording (pure): from each audio track's levels
 * (dBov per window, `audio-levels.ts`) on the composite's clock to stretches of one speaker each.
 *
 * The export runs after the call, so unlike the SFU's live detector (`sfu/worker/active-speakers.ts`)
 * it can look ahead as well as back:
 * 1. a window is speech when its level is above `speechDb` (-50 dBov, the SFU's threshold);
 * 2. each participant's share of speech in the `smoothingSeconds` around each window (centred:
 *    a turn from A to B crosses over at the moment it happens, not half a second later);
 * 3. the window's leader: the highest share, at least `activeShare`, among participants whose video
 *    is in the composite at that moment (ties: the louder over the same span);
 * 4. hysteresis: a leader becomes the speaker only after leading for `minLeadSeconds` in one run
 *    (another leader ends the run; a pause where nobody leads does not, unless it is longer than
 *    `minLeadSeconds`), and the change is placed where the run's speaker starts to speak. So a cough, a "yes" or two
 *    people talking over each other never flip the layout, and every stretch lasts at least
 *    `minLeadSeconds`. The first speaker holds from the composite's start; with no speech at all,
 *    the first video's participant is the speaker throughout.
 */

export interface LevelSeries {
  participant: string;
  /** Seconds from the composite's start to the series' first window. */
  offsetSeconds: number;
  /** dBov (0 = full scale, -Infinity = digital silence) of consecutive windows of `windowSeconds`. */
  levels: ArrayLike<number>;
}

export interface VideoSpan {
  participant: string;
  fromSeconds: number;
  toSeconds: number;
}

export interface SpeakerStretch {
  participant: string;
  fromSeconds: number;
  toSeconds: number;
}

export interface SpeakerOptions {
  windowSeconds: number;
  speechDb: number;
  smoothingSeconds: number;
  activeShare: number;
  minLeadSeconds: number;
}

export const SPEAKER_DEFAULTS: SpeakerOptions = { windowSeconds: 0.1, speechDb: -50, smoothingSeconds: 1, activeShare: 0.3, minLeadSeconds: 1 };

const QUIET_DB = -100;

export function speakerTimeline(series: readonly LevelSeries[], videos: readonly VideoSpan[], durationSeconds: number, options: SpeakerOptions = SPEAKER_DEFAULTS): SpeakerStretch[] {
  const first = videos[0];
  if (!first || durationSeconds <= 0) return [];
  const { windowSeconds: w } = options;
  const count = Math.ceil(durationSeconds / w);
  const participants = [...new Set(videos.map((video) => video.participant))];

  // Each participant's level per window of the composite (the loudest of their audio tracks).
  const level = new Map(participants.map((p) => [p, new Float64Array(count).fill(QUIET_DB)]));
  for (const { participant, offsetSeconds, levels } of series) {
    const target = level.get(participant);
    if (!target) continue;
    for (let j = 0; j < levels.length; j++) {
      const k = Math.floor((offsetSeconds + (j + 0.5) * w) / w);
      if (k >= 0 && k < count) target[k] = Math.max(target[k]!, Math.max(QUIET_DB, levels[j]!));
    }
  }

  // Centred shares of speech and mean levels, by prefix sums.
  const half = Math.max(1, Math.round(options.smoothingSeconds / w / 2));
  const smoothed = new Map<string, { share: Float64Array; loudness: Float64Array }>();
  for (const [participant, levels] of level) {
    const speech = new Float64Array(count + 1);
    const sum = new Float64Array(count + 1);
    for (let k = 0; k < count; k++) {
      speech[k + 1] = speech[k]! + (levels[k]! > options.speechDb ? 1 : 0);
      sum[k + 1] = sum[k]! + levels[k]!;
    }
    const share = new Float64Array(count);
    const loudness = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      const from = Math.max(0, k - half);
      const to = Math.min(count, k + half + 1);
      share[k] = (speech[to]! - speech[from]!) / (to - from);
      loudness[k] = (sum[to]! - sum[from]!) / (to - from);
    }
    smoothed.set(participant, { share, loudness });
  }

  const leaderAt = (k: number): string | null => {
    const at = (k + 0.5) * w;
    let best: string | null = null;
    let bestShare = 0;
    let bestLoudness = -Infinity;
    for (const participant of participants) {
      if (!videos.some((video) => video.participant === participant && video.fromSeconds <= at && at < video.toSeconds)) continue;
      const { share, loudness } = smoothed.get(participant)!;
      const s = share[k]!;
      const l = loudness[k]!;
      if (s < options.activeShare) continue;
      if (s > bestShare || (s === bestShare && l > bestLoudness)) {
        best = participant;
        bestShare = s;
        bestLoudness = l;
      }
    }
    return best;
  };

  // Runs of one leader; a run that led long enough changes the speaker from its start: the
  // first window of the run in which the leader does speak (the centred share makes someone the
  // leader a few windows before they start after a silence). Only windows from there on count.
  const minLead = Math.round(options.minLeadSeconds / w);
  const changes: Array<{ k: number; participant: string }> = [];
  let run: { participant: string; spoke: number | null; last: number; led: number } | null = null;
  const closeRun = () => {
    if (run && run.spoke !== null && run.led >= minLead && changes.at(-1)?.participant !== run.participant) changes.push({ k: run.spoke, participant: run.participant });
    run = null;
  };
  for (let k = 0; k < count; k++) {
    const leader = leaderAt(k);
    if (leader === null) {
      if (run && k - run.last > minLead) closeRun();
      continue;
    }
    if (!run || run.participant !== leader) {
      closeRun();
      run = { participant: leader, spoke: null, last: k, led: 0 };
    }
    run.last = k;
    if (run.spoke === null && level.get(leader)![k]! > options.speechDb) run.spoke = k;
    if (run.spoke !== null) run.led += 1;
  }
  closeRun();

  if (changes.length === 0) return [{ participant: first.participant, fromSeconds: 0, toSeconds: durationSeconds }];
  const seconds = (k: number) => Math.round(k * w * 1000) / 1000;
  return changes.map((change, i) => ({
    participant: change.participant,
    fromSeconds: i === 0 ? 0 : seconds(change.k),
    toSeconds: i + 1 < changes.length ? seconds(changes[i + 1]!.k) : Math.round(durationSeconds * 1000) / 1000,
  }));
}
