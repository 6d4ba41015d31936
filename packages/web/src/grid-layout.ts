// Which grid fits N tiles best into the space available: the number of columns and rows that
// makes tiles as large as possible at the tile aspect ratio. Pure arithmetic, no DOM.

export interface GridArea {
  width: number;
  height: number;
  /** Space between tiles, in the same unit as width and height. */
  gap: number;
  /** Preferred tile width / height, e.g. 16 / 9. */
  aspect: number;
}

export interface GridShape {
  columns: number;
  /** Undefined when the tiles do not fit: the grid then scrolls with rows of `rowHeight`. */
  rows: number | undefined;
  rowHeight: number | undefined;
}

/** Below this width a tile is too small to recognise anyone, so the grid scrolls instead. */
export const MIN_TILE_WIDTH = 160;

export function chooseGridShape(count: number, area: GridArea): GridShape {
  const tiles = Math.max(1, count);
  let best = { columns: 1, rows: tiles, tileWidth: 0 };
  for (let columns = 1; columns <= tiles; columns++) {
    const rows = Math.ceil(tiles / columns);
    const tileWidth = Math.min(cellSize(area.width, columns, area.gap), cellSize(area.height, rows, area.gap) * area.aspect);
    if (tileWidth > best.tileWidth) best = { columns, rows, tileWidth };
  }
  if (best.tileWidth >= MIN_TILE_WIDTH || area.width <= 0 || area.height <= 0) {
    return { columns: best.columns, rows: best.rows, rowHeight: undefined };
  }
  const columns = Math.max(1, Math.floor((area.width + area.gap) / (MIN_TILE_WIDTH + area.gap)));
  return { columns, rows: undefined, rowHeight: Math.floor(cellSize(area.width, columns, area.gap) / area.aspect) };
}

/** The size of one of `count` equal cells sharing `total` with `gap` between them. */
function cellSize(total: number, count: number, gap: number): number {
  return (total - gap * (count - 1)) / count;
}
