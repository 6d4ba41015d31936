// The grid of tiles: keeps one tile per identity, in join order (self first), and sizes the grid
// so the tiles are as large as the space allows (see grid-layout.ts).

import { chooseGridShape } from './grid-layout.ts';
import type { ParticipantTile } from './tiles.ts';

/** Used until the stylesheet says otherwise (style.css sets --tile-aspect per screen shape). */
const DEFAULT_TILE_ASPECT = 16 / 9;

export class ParticipantGrid {
  private readonly container: HTMLElement;
  private readonly onCountChanged: (count: number) => void;
  private readonly tiles = new Map<string, ParticipantTile>();
  private readonly resizeObserver: ResizeObserver;

  constructor(container: HTMLElement, onCountChanged: (count: number) => void) {
    this.container = container;
    this.onCountChanged = onCountChanged;
    // Window resizes, phone rotation and banners appearing all change the space for tiles.
    this.resizeObserver = new ResizeObserver(() => this.relayout());
    this.resizeObserver.observe(container);
    this.onCountChanged(0);
  }

  get(identity: string): ParticipantTile | undefined {
    return this.tiles.get(identity);
  }

  /** Adds `tile`; a tile already there for the same identity is replaced in place. */
  add(tile: ParticipantTile): void {
    const previous = this.tiles.get(tile.identity);
    if (previous) {
      previous.element.replaceWith(tile.element);
      previous.dispose();
    } else {
      this.container.append(tile.element);
    }
    this.tiles.set(tile.identity, tile);
    this.countChanged();
  }

  remove(identity: string): void {
    this.tiles.get(identity)?.dispose();
    if (this.tiles.delete(identity)) this.countChanged();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    for (const tile of this.tiles.values()) tile.dispose();
    this.tiles.clear();
  }

  private countChanged(): void {
    this.relayout();
    this.onCountChanged(this.tiles.size);
  }

  /** Publishes the chosen shape as CSS variables; style.css turns them into grid tracks. */
  private relayout(): void {
    const style = getComputedStyle(this.container);
    const shape = chooseGridShape(this.tiles.size, {
      width: this.container.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      height: this.container.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom),
      gap: parseFloat(style.columnGap) || 0,
      aspect: parseFloat(style.getPropertyValue('--tile-aspect')) || DEFAULT_TILE_ASPECT,
    });
    this.container.style.setProperty('--columns', String(shape.columns));
    this.container.style.setProperty('--rows', String(shape.rows ?? 1));
    this.container.style.setProperty('--row-height', `${shape.rowHeight ?? 0}px`);
    this.container.dataset['scroll'] = String(shape.rows === undefined);
  }
}
