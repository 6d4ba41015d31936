/**
 * Who in an MCU room hears which mix (pure, no I/O). A listener who publishes no audio would hear
 * every voice, exactly what every other such listener hears: they all get the same mix, encoded
 * once per tick and its Opus packets sent to each of them (each with its own RTP numbering). A
 * speaker (someone the mixer has a published audio track of, heard or silent) gets its own
 * mix-minus, never its own voice. Re-planned every tick, so a listener who starts publishing has
 * its own mix from the next 20 ms tick after its track reaches the mixer, and a speaker whose
 * last audio track ends is back on the shared mix the tick after.
 *
 * Why: Opus encoding is the mixer's cost. With one mix-minus per listener a webinar of 3 speakers
 * and 50 listeners encoded 53 frames per tick and its mixer took ~33 % of a core here (~95 us
 * per listener per tick: the encode, its limiter pass, its packet); with the shared mix it
 * encodes 4 and takes ~8 %, a shared listener costing ~2 us (BENCHMARKS.md, bench:mcu:mixer).
 */

export interface MixPlan {
  /** Listeners who hear the shared mix of every voice. */
  shared: string[];
  /** Listeners who hear their own mix-minus (they publish audio). */
  own: string[];
}

/** `listeners`: who receives a mix; `speakers`: the owners of the audio tracks the mixer decodes. */
export function planMixes(listeners: Iterable<string>, speakers: ReadonlySet<string>): MixPlan {
  const plan: MixPlan = { shared: [], own: [] };
  for (const listener of listeners) (speakers.has(listener) ? plan.own : plan.shared).push(listener);
  return plan;
}

/** Opus encodes a plan costs per tick: one per own mix-minus, one for the shared mix if anyone hears it. */
export function encodesPerTick(plan: MixPlan): number {
  return plan.own.length + (plan.shared.length > 0 ? 1 : 0);
}
