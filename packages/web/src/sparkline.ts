// Small line graphs of the last minute of a figure (bitrate, loss) for the stats panel, drawn on
// a <canvas> (scripted drawing is allowed by the CSP, unlike inline SVG styles or style attributes).

export interface Point {
  x: number;
  y: number;
}

export interface SparklineScale {
  width: number;
  height: number;
  /** How many samples the full width holds; fewer samples are drawn against the right edge. */
  capacity: number;
  /** The value at the top edge is at least this, so a flat low line does not fill the graph. */
  minimumMax: number;
}

/**
 * Where each of `values` (oldest first) goes: the newest at the right edge, one step per sample,
 * 0 at the bottom and the largest value (or `minimumMax`) at the top. Values that are not finite
 * or negative count as 0. A 1 px margin keeps the stroke inside the canvas.
 */
export function sparklinePoints(values: readonly number[], scale: SparklineScale): Point[] {
  const shown = values.slice(-scale.capacity).map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const top = Math.max(scale.minimumMax, ...shown);
  const step = scale.capacity > 1 ? (scale.width - 2) / (scale.capacity - 1) : 0;
  const firstX = scale.width - 1 - step * (shown.length - 1);
  const usableHeight = scale.height - 2;
  return shown.map((value, index) => ({
    x: firstX + step * index,
    y: 1 + usableHeight - (top > 0 ? (value / top) * usableHeight : 0),
  }));
}

/** Draws the graph of `values` filling `canvas`, in `color`. */
export function drawSparkline(canvas: HTMLCanvasElement, values: readonly number[], color: string, scale: Omit<SparklineScale, 'width' | 'height'>): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  context.clearRect(0, 0, canvas.width, canvas.height);
  const points = sparklinePoints(values, { ...scale, width: canvas.width, height: canvas.height });
  if (points.length === 0) return;
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.lineJoin = 'round';
  context.beginPath();
  points.forEach(({ x, y }, index) => (index === 0 ? context.moveTo(x, y) : context.lineTo(x, y)));
  context.stroke();
}
