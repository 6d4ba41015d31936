// The grid of tiles: keeps one tile per identity, in join order (self first), and sizes the grid
// so the tiles are as large as the space allows (see grid-layout.ts). While someone else shares a
// screen, their tile is featured: large, with the other tiles in a strip beside or below it.

import { chooseGridShape } from './grid-layout.js';
import type { ParticipantTile } from './tiles.js';

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

  all(): Iterable<ParticipantTile> {
    return this.tiles.values();
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

  /** Call after a tile started or stopped showing a screen, so the featured tile follows. */
  updateLayout(): void {
    this.relayout();
  }

  /** Publishes the chosen shape as CSS variables; style.css turns them into grid tracks. */
  private relayout(): void {
    const featured = this.featuredTile();
    for (const tile of this.tiles.values()) tile.element.classList.toggle('is-featured', tile === featured);
    if (featured) return this.layOutAround();
    delete this.container.dataset['featured'];
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

  /** The most recently added remote tile showing a screen, if any (your own share is not featured). */
  private featuredTile(): ParticipantTile | undefined {
    return [...this.tiles.values()].reverse().find((tile) => !tile.isLocal && tile.isShowingScreen);
  }

  /**
   * Featured layout: on a wide area the shared screen takes the left and the others stack on the
   * right (`wide`); on a tall one (a phone upright) it takes the top and the others sit in rows
   * of up to three below (`tall`).
   */
  private layOutAround(): void {
    const others = Math.max(1, this.tiles.size - 1);
    const wide = this.container.clientWidth >= this.container.clientHeight;
    const columns = wide ? 2 : Math.min(others, MAX_STRIP_COLUMNS);
    this.container.dataset['featured'] = wide ? 'wide' : 'tall';
    this.container.dataset['scroll'] = 'false';
    this.container.style.setProperty('--columns', String(columns));
    this.container.style.setProperty('--rows', String(wide ? others : Math.ceil(others / columns)));
  }
}

/** A tall featured layout puts at most this many of the other tiles side by side. */
const MAX_STRIP_COLUMNS = 3;
