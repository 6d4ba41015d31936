import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CANVAS_SIZE, fitInto, gridTiles, MAX_SELF_CANVAS_SIZE, PLACEHOLDER_NAME_CHARS, placeholderText, selfCanvasSize } from '../../src/recording/canvas-layout.ts';
import { selfRecordingTracks } from '../../src/recording/room-recordings.ts';

test("self canvas: the camera's size when it says one, even, at most 1920x1080 keeping the aspect; 1280x720 without", () => {
  assert.deepEqual(selfCanvasSize({ width: 1280, height: 720 }), { width: 1280, height: 720 });
  assert.deepEqual(selfCanvasSize({ width: 320, height: 240 }), { width: 320, height: 240 });
  assert.deepEqual(selfCanvasSize({ width: 641, height: 479 }), { width: 642, height: 480 }, 'even pixels for 4:2:0');
  assert.deepEqual(selfCanvasSize({ width: 3840, height: 2160 }), MAX_SELF_CANVAS_SIZE);
  assert.deepEqual(selfCanvasSize({ width: 1080, height: 1920 }), { width: 608, height: 1080 }, 'a portrait camera is scaled to 1080 high');
  assert.deepEqual(selfCanvasSize(undefined), DEFAULT_CANVAS_SIZE, 'camera off at the start');
  assert.deepEqual(selfCanvasSize({}), DEFAULT_CANVAS_SIZE, 'a camera that does not say its size yet');
  assert.deepEqual(selfCanvasSize({ width: 0, height: 480 }), DEFAULT_CANVAS_SIZE);
});

test('grid: one tile fills the canvas, two side by side, three and four in two rows, five in a 3x2 grid', () => {
  const canvas = { width: 1280, height: 720 };
  assert.deepEqual(gridTiles(0, canvas), []);
  assert.deepEqual(gridTiles(1, canvas), [{ x: 0, y: 0, width: 1280, height: 720 }]);
  assert.deepEqual(gridTiles(2, canvas), [{ x: 0, y: 0, width: 640, height: 720 }, { x: 640, y: 0, width: 640, height: 720 }]);
  assert.deepEqual(gridTiles(3, canvas).map((t) => [t.x, t.y]), [[0, 0], [640, 0], [0, 360]]);
  assert.deepEqual(gridTiles(4, canvas).at(-1), { x: 640, y: 360, width: 640, height: 360 });
  assert.deepEqual(gridTiles(5, canvas).map((t) => [Math.round(t.x), t.y]), [[0, 0], [427, 0], [853, 0], [0, 360], [427, 360]]);
});

test('fit: a picture keeps its aspect ratio, centred in its tile (pillarboxed or letterboxed)', () => {
  assert.deepEqual(fitInto({ width: 640, height: 480 }, { x: 0, y: 0, width: 1280, height: 720 }), { x: 160, y: 0, width: 960, height: 720 });
  assert.deepEqual(fitInto({ width: 1280, height: 720 }, { x: 0, y: 0, width: 320, height: 240 }), { x: 0, y: 30, width: 320, height: 180 });
  assert.deepEqual(fitInto({ width: 1280, height: 720 }, { x: 640, y: 360, width: 640, height: 360 }), { x: 640, y: 360, width: 640, height: 360 });
});

test('placeholder: the name (trimmed, a long one cut with an ellipsis) and "Camera off", sized from the canvas height', () => {
  assert.deepEqual(placeholderText('  Alice ', { width: 1280, height: 720 }), { title: 'Alice', subtitle: 'Camera off', titlePx: 80, subtitlePx: 40 });
  const long = placeholderText('x'.repeat(50), { width: 320, height: 240 });
  assert.equal([...long.title].length, PLACEHOLDER_NAME_CHARS);
  assert.ok(long.title.endsWith('…'));
  assert.equal(placeholderText('😀'.repeat(40), { width: 320, height: 240 }).title, `${'😀'.repeat(PLACEHOLDER_NAME_CHARS - 1)}…`, 'cut between characters, not inside one');
  assert.deepEqual([placeholderText('', { width: 32, height: 24 }).titlePx, placeholderText('', { width: 32, height: 24 }).subtitlePx], [12, 10], 'never unreadably small');
});

test('self recording tracks: the canvas with the mix when WebAudio runs; with the microphone itself when it does not; the canvas alone without either', () => {
  assert.deepEqual(selfRecordingTracks('canvas', 'mix', true, 'mic'), ['canvas', 'mix']);
  assert.deepEqual(selfRecordingTracks('canvas', 'mix', true, undefined), ['canvas', 'mix'], 'the mic off at the start: the mix follows it when it comes');
  assert.deepEqual(selfRecordingTracks('canvas', 'mix', false, 'mic'), ['canvas', 'mic']);
  assert.deepEqual(selfRecordingTracks('canvas', 'mix', false, undefined), ['canvas']);
});
