/**
 * How a participant without a picture is drawn, the same everywhere: the web app's "camera off"
 * tile and the MCU grid's placeholder (`packages/server/src/mcu/video/placeholder.ts`) both show
 * the initials of the display name on a disc whose hue comes from the identity, so one person
 * looks the same in either.
 */

/** Up to two initials, e.g. "Ada Lovelace" -> "AL", "grace" -> "G", emoji-safe. */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter((word) => word !== '');
  const first = words[0];
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  return [first, last]
    .map((word) => (word === undefined ? '' : (Array.from(word)[0] ?? '')))
    .join('')
    .toUpperCase();
}

/** A hue (0-359) derived from `text`, the same every time. */
export function hueFor(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) % 360;
  return hash;
}

/** The avatar disc's saturation and lightness (HSL, %), with `hueFor(identity)` as its hue. */
export const AVATAR_SATURATION = 45;
export const AVATAR_LIGHTNESS = 38;
