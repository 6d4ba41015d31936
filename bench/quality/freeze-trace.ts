/**
 * `bench:quality --trace`: what happened around each freeze. The receiver's page samples its
 * inbound video counters (packets, lost, keyframes decoded, PLIs sent) every 100 ms on its own
 * clock, and for SFU cases the benchmark samples the SFU's counters for the room (layer switches,
 * keyframe requests to the publisher, resends, NACKs to the publisher, uplink collapses, stalls of
 * the worker's loop, whose backlog stays out of the publisher's feedback) on the
 * same clock (an offset measured once). Each freeze then gets one line of what grew from 300 ms
 * before it to its end: a freeze with a PLI and a keyframe is a lost picture repaired by a
 * keyframe, one with a layer switch is the allocator's doing, one with neither is the link's.
 * Diagnostic only: it reads counters, never changes the call.
 */
import type { RunningServer } from '@parley/server';
import type { TestPage } from '../../e2e/harness/browsers.ts';
import type { Freeze } from './figures.ts';

const SAMPLE_MS = 100;
const BEFORE_MS = 300;

const RECEIVER_KEYS = ['packets', 'packetsLost', 'keyFrames', 'pliCount'] as const;
const SFU_KEYS = ['layerSwitches', 'keyframeRequests', 'retransmissions', 'nacksToPublishers', 'uplinkCollapses', 'probePackets', 'loopStalls'] as const;
type Sample<K extends string> = { at: number } & Record<K, number>;

export interface FreezeTrace {
  /** Stops sampling; one line per freeze, in the order given. */
  explain(freezes: readonly Freeze[]): Promise<string[]>;
}

export async function startFreezeTrace(page: TestPage, server: RunningServer, room: string, sfu: boolean): Promise<FreezeTrace> {
  await page.evaluate((sampleMs) => {
    type Scope = { __trace?: { rows: number[][]; timer: number } };
    const scope = window as unknown as Scope & { __parley: { room: { debugState(): Promise<{ links: Array<{ rtp: Array<Record<string, unknown>> }>; sfu?: { subscriber?: { rtp: Array<Record<string, unknown>> } } }> } } };
    if (scope.__trace) return;
    const rows: number[][] = [];
    const sample = async () => {
      const state = await scope.__parley.room.debugState();
      const streams = [...state.links.flatMap((link) => link.rtp), ...(state.sfu?.subscriber?.rtp ?? [])].filter((s) => s['direction'] === 'inbound' && s['kind'] === 'video');
      const sum = (key: string) => streams.reduce((total, s) => total + (typeof s[key] === 'number' ? (s[key] as number) : 0), 0);
      rows.push([performance.now(), sum('packets'), sum('packetsLost'), sum('keyFrames'), sum('pliCount')]);
    };
    scope.__trace = { rows, timer: window.setInterval(() => void sample(), sampleMs) };
  }, SAMPLE_MS);
  const sfuSamples: Array<Sample<(typeof SFU_KEYS)[number]>> = [];
  // The page's clock minus this process's: measured once, half a round trip of error.
  const before = performance.now();
  const pageAt = await page.evaluate(() => performance.now(), undefined);
  const offset = pageAt - (before + performance.now()) / 2;
  let stopped = false;
  const sampling = (async () => {
    while (sfu && !stopped) {
      const stats = await server.media.sfuStats(room);
      const at = performance.now() + offset;
      sfuSamples.push({ at, ...Object.fromEntries(SFU_KEYS.map((key) => [key, Number(stats[key] ?? 0)])) } as Sample<(typeof SFU_KEYS)[number]>);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  return {
    async explain(freezes) {
      stopped = true;
      await sampling;
      const rows = await page.evaluate(() => {
        const trace = (window as unknown as { __trace?: { rows: number[][]; timer: number } }).__trace;
        if (trace) window.clearInterval(trace.timer);
        return trace?.rows ?? [];
      }, undefined);
      const receiver = rows.map(([at, ...values]) => ({ at, ...Object.fromEntries(RECEIVER_KEYS.map((key, i) => [key, values[i] ?? 0])) }) as Sample<(typeof RECEIVER_KEYS)[number]>);
      return freezes.map((freeze) => {
        const from = freeze.at - BEFORE_MS;
        const to = freeze.at + freeze.durationMs;
        const parts = [...grew(receiver, RECEIVER_KEYS, from, to, 'receiver'), ...(sfu ? grew(sfuSamples, SFU_KEYS, from, to, 'SFU') : [])];
        return `  freeze ${Math.round(freeze.durationMs)} ms at page ${Math.round(freeze.at)}: ${parts.join(', ') || 'no counter grew'}`;
      });
    },
  };
}

/** What grew between the last sample at or before `from` and the first at or after `to`. */
function grew<K extends string>(samples: ReadonlyArray<Sample<K>>, keys: readonly K[], from: number, to: number, label: string): string[] {
  const start = [...samples].reverse().find((s) => s.at <= from) ?? samples[0];
  const end = samples.find((s) => s.at >= to) ?? samples.at(-1);
  if (!start || !end) return [`${label}: no samples`];
  return keys.flatMap((key) => {
    const delta = end[key] - start[key];
    return delta !== 0 ? [`${label} ${key} +${delta}`] : [];
  });
}
