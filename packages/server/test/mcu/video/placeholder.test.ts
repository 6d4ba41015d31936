/**
 * The MCU grid's placeholder: the disc, its colour and the blend are pure; the text is drawn by
 * the real ffmpeg (drawtext) and read back as a mask.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hueFor } from '@parley/protocol';
import { avatarColour, fittedName, paintPlaceholder, placeholderGeometry, PlaceholderPainter, PLACEHOLDER_BACKGROUND, renderTextMask } from '../../../src/mcu/video/placeholder.ts';

const [W, H] = [320, 180];
const lumaAt = (data: Buffer, x: number, y: number) => data[y * W + x]!;

/** White pixels of `mask` inside the rectangle. */
function lit(mask: Uint8Array, x0: number, y0: number, x1: number, y1: number): number {
  let count = 0;
  for (let y = Math.max(0, y0); y < Math.min(H, y1); y++) for (let x = Math.max(0, x0); x < Math.min(W, x1); x++) if (mask[y * W + x]! > 128) count++;
  return count;
}

describe('placeholder (pure)', () => {
  test("the avatar's colour is the web app's hsl(hue 45% 38%) in limited-range YUV", () => {
    // hueFor('a') = 97: hsl(97 45% 38%) = rgb(34.0%, 55.1%, 20.9%) (CSS Color 4's hslToRgb).
    assert.equal(hueFor('a'), 97);
    const [r, g, b] = [0.3401, 0.5510, 0.2090];
    assert.deepEqual(avatarColour('a'), {
      y: Math.round(16 + 65.481 * r + 128.553 * g + 24.966 * b),
      u: Math.round(128 - 37.797 * r - 74.203 * g + 112 * b),
      v: Math.round(128 + 112 * r - 93.786 * g - 18.214 * b),
    });
    assert.notDeepEqual(avatarColour('alice'), avatarColour('bob'));
  });

  test('the disc of the colour in the middle, the background around it, the mask blended toward white', () => {
    const colour = { y: 100, u: 90, v: 160 };
    const { cx, cy, radius } = placeholderGeometry(W, H);
    const plain = paintPlaceholder(W, H, colour);
    assert.equal(lumaAt(plain.data, cx, cy), 100);
    assert.equal(lumaAt(plain.data, cx - radius + 3, cy), 100, 'inside the disc near its edge');
    assert.equal(lumaAt(plain.data, 2, 2), PLACEHOLDER_BACKGROUND.y, 'the corner is background');
    assert.equal(lumaAt(plain.data, cx, cy + radius + 2), PLACEHOLDER_BACKGROUND.y, 'just under the disc is background');
    const chroma = W * H + (cy >> 1) * (W >> 1) + (cx >> 1);
    assert.equal(plain.data[chroma], 90);
    const mask = new Uint8Array(W * H);
    mask.fill(255, cy * W, (cy + 2) * W);
    const painted = paintPlaceholder(W, H, colour, mask);
    assert.equal(lumaAt(painted.data, cx, cy), 235, 'full coverage is white');
    assert.equal(painted.data[chroma], 128, 'and neutral');
    assert.equal(lumaAt(painted.data, cx, cy + 4), 100, 'the disc elsewhere untouched');
  });

  test('a name longer than the tile is cut with an ellipsis; a short one is kept', () => {
    assert.equal(fittedName('  Ada  ', W, 15), 'Ada');
    const long = fittedName('x'.repeat(100), W, 15);
    assert.ok(long.endsWith('…') && Array.from(long).length === 32, long);
    assert.equal(fittedName('🦊'.repeat(40), 100, 15).length > 0, true);
  });

  test('a tile too short for the name line has none', () => {
    assert.notEqual(placeholderGeometry(320, 180).nameY, undefined);
    assert.equal(placeholderGeometry(64, 20).nameY, undefined);
  });
});

describe('placeholder text (real ffmpeg drawtext)', () => {
  test('initials on the disc and the name under it; another name draws other pixels; any character is text, not filter syntax', async () => {
    const { cx, cy, radius, nameY, nameSize } = placeholderGeometry(W, H);
    const ada = await renderTextMask('ffmpeg', 'Ada Lovelace', W, H);
    assert.equal(ada.length, W * H);
    assert.ok(lit(ada, cx - radius, cy - radius, cx + radius, cy + radius) > 50, 'the initials are on the disc');
    assert.ok(lit(ada, 0, nameY! - nameSize, W, nameY! + nameSize) > 50, 'the name is under it');
    assert.equal(lit(ada, 0, 0, W, 10), 0, 'nothing at the top');
    const bob = await renderTextMask('ffmpeg', 'Bob', W, H);
    assert.notDeepEqual(bob, ada);
    const odd = await renderTextMask('ffmpeg', "O'Neil: 100% \\ {x} ,=;[]", W, H);
    assert.ok(lit(odd, 0, nameY! - nameSize, W, nameY! + nameSize) > 50, 'a name full of drawtext syntax is drawn as text');
    const empty = await renderTextMask('ffmpeg', '  ', W, H);
    assert.ok(lit(empty, cx - radius, cy - radius, cx + radius, cy + radius) > 10, 'an empty name: a question mark on the disc');
    assert.equal(lit(empty, 0, nameY! - nameSize, W, nameY! + nameSize), 0, 'and no name line');
  });

  test('the painter answers the disc at once and the finished tile once the text is drawn; a failing ffmpeg leaves the disc alone, logged once', async () => {
    const { cx, cy, radius, nameY, nameSize } = placeholderGeometry(W, H);
    const painter = new PlaceholderPainter({ ffmpegPath: 'ffmpeg', onError: (message) => assert.fail(message) });
    const first = painter.get('ada', 'Ada Lovelace', W, H);
    assert.equal(first.textReady, false);
    assert.equal(lumaAt(first.picture.data, cx, cy), avatarColour('ada').y, "at once: the disc in ada's colour, no initials yet");
    const start = Date.now();
    let tile = painter.get('ada', 'Ada Lovelace', W, H);
    while (!tile.textReady && Date.now() - start < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tile = painter.get('ada', 'Ada Lovelace', W, H);
    }
    assert.ok(tile.textReady, 'the text drawn within 10 s');
    assert.equal(lumaAt(tile.picture.data, cx - radius + 3, cy), avatarColour('ada').y, "the disc in ada's colour");
    const bright = (data: Buffer, y0: number, y1: number) => {
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < W; x++) if (lumaAt(data, x, y) > 200) count++;
      return count;
    };
    assert.ok(bright(tile.picture.data, cy - radius, cy + radius) > 50, 'the initials on it');
    assert.ok(bright(tile.picture.data, nameY! - nameSize, nameY! + nameSize) > 50, 'the name under it');

    const errors: string[] = [];
    const broken = new PlaceholderPainter({ ffmpegPath: '/nonexistent/ffmpeg', onError: (message) => errors.push(message) });
    for (const name of ['A', 'B']) broken.get(name, name, W, H);
    while (errors.length === 0 && Date.now() - start < 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const name of ['A', 'B']) {
      const drawn = broken.get(name, name, W, H);
      assert.equal(drawn.textReady, false);
      assert.equal(lumaAt(drawn.picture.data, cx, cy), avatarColour(name).y, `${name}: the disc alone`);
    }
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /a placeholder is drawn without its name/);
  });
});
