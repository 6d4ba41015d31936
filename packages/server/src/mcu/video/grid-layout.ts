/**
 * Where each tile of a live MCU grid goes (pure). The same layouts as the composite recording
 * (`recording/composite/layout.ts`), so a call looks the same live and recorded: an equal grid, or
 * once three or more tiles share the picture and one is featured, that one big on the left and
 * the others in a strip. Featured: a screen share first (its detail needs the room), else the
 * active speaker.
 */
import { gridLayout, speakerLayout, type Tile } from '../../recording/composite/layout.js';

export interface GridEntry {
  /** Who the tile shows. */
  participant: string;
  /** The mixer's input shown in it; undefined: the participant's camera is off (a placeholder). */
  input: number | undefined;
  screen: boolean;
}

export interface PlacedTile extends Tile {
  entry: GridEntry;
}

/** At least this many tiles before one is featured: with two, side by side shows both at their best. */
const FEATURE_FROM = 3;

export function placeTiles(entries: readonly GridEntry[], speaker: string | undefined, width: number, height: number): PlacedTile[] {
  if (entries.length === 0) return [];
  const featured = entries.findIndex((entry) => entry.screen) >= 0 ? entries.findIndex((entry) => entry.screen) : entries.findIndex((entry) => entry.participant === speaker && !entry.screen);
  const screenShown = featured >= 0 && entries[featured]!.screen;
  if (featured < 0 || (entries.length < FEATURE_FROM && !screenShown)) {
    return gridLayout(entries.length, width, height).map((tile, i) => ({ ...tile, entry: entries[i]! }));
  }
  const { big, strip } = speakerLayout(entries.length, width, height);
  let slot = 0;
  return entries.map((entry, i) => ({ ...(i === featured ? big : strip[slot++]!), entry }));
}

/** A key that changes when the picture's arrangement does (the grid's background is painted again then). */
export function layoutKey(tiles: readonly PlacedTile[]): string {
  return tiles.map((tile) => `${tile.entry.participant}:${tile.entry.screen ? 's' : 'c'}:${tile.entry.input ?? '-'}@${tile.x},${tile.y},${tile.width}x${tile.height}`).join('|');
}
