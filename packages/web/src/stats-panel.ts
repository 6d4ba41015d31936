// The "Stats" panel: one row per media stream of the call (what you send and receive), refreshed
// every second while the panel is open, with graphs of the last minute of bitrate and loss.

import type { Room } from '@parley/client';
import { cloneTemplate, findPart } from './dom.js';
import { drawSparkline } from './sparkline.js';
import { formatStatsRow, StatsHistory, streamKey, type StatsRowText } from './stats-format.js';

const REFRESH_MS = 1000;
/** One sample a second: the graphs show the last minute. */
const HISTORY_SAMPLES = 60;
const BITRATE_COLOR = '#5b8cff';
const LOSS_COLOR = '#ff8a8d';
const FIGURES = ['bitrate', 'loss', 'rtt', 'jitter', 'codec', 'resolution', 'fps', 'candidate'] as const;

export interface StatsPanel {
  /** Starts refreshing (the panel is visible). */
  start(): void;
  /** Stops refreshing (the panel is hidden); the history is kept for when it opens again. */
  stop(): void;
}

interface StatsRow {
  element: HTMLElement;
  cells: Record<(typeof FIGURES)[number], HTMLElement>;
  label: HTMLElement;
  bitrateGraph: HTMLCanvasElement;
  lossGraph: HTMLCanvasElement;
}

export function createStatsPanel(panel: HTMLElement, room: Room, nameOf: (identity: string) => string): StatsPanel {
  const list = findPart(panel, 'stats-list', HTMLElement);
  const empty = findPart(panel, 'stats-empty', HTMLElement);
  const history = new StatsHistory(HISTORY_SAMPLES);
  const rows = new Map<string, StatsRow>();
  let timer: number | undefined;
  let refreshing = false;

  async function refresh(): Promise<void> {
    // A getStats() slower than a second must not pile up.
    if (refreshing) return;
    refreshing = true;
    try {
      const streams = await room.getStats();
      if (timer === undefined) return;
      history.record(streams);
      const keys = new Set(streams.map(streamKey));
      for (const [key, row] of rows) {
        if (keys.has(key)) continue;
        row.element.remove();
        rows.delete(key);
      }
      for (const stats of streams) showRow(formatStatsRow(stats, nameOf));
      empty.hidden = rows.size > 0;
    } catch {
      // The room is closing; the panel goes with it.
    } finally {
      refreshing = false;
    }
  }

  function showRow(text: StatsRowText): void {
    let row = rows.get(text.key);
    if (!row) {
      row = createRow();
      rows.set(text.key, row);
      list.append(row.element);
    }
    row.label.textContent = text.label;
    for (const figure of FIGURES) row.cells[figure].textContent = text[figure];
    const samples = history.samples(text.key);
    const scale = { capacity: HISTORY_SAMPLES };
    drawSparkline(row.bitrateGraph, samples.map((s) => s.bitrateKbps), BITRATE_COLOR, { ...scale, minimumMax: 100 });
    drawSparkline(row.lossGraph, samples.map((s) => s.lossPercent), LOSS_COLOR, { ...scale, minimumMax: 5 });
  }

  return {
    start() {
      if (timer !== undefined) return;
      timer = window.setInterval(() => void refresh(), REFRESH_MS);
      void refresh();
    },
    stop() {
      window.clearInterval(timer);
      timer = undefined;
    },
  };
}

function createRow(): StatsRow {
  const element = cloneTemplate('stats-row-template');
  const cells = Object.fromEntries(FIGURES.map((figure) => [figure, findPart(element, figure, HTMLElement)])) as StatsRow['cells'];
  return {
    element,
    cells,
    label: findPart(element, 'label', HTMLElement),
    bitrateGraph: findPart(element, 'bitrate-graph', HTMLCanvasElement),
    lossGraph: findPart(element, 'loss-graph', HTMLCanvasElement),
  };
}
