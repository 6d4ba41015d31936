// Who this browser tab is: a random identity per tab and the display name the user last chose.

const IDENTITY_KEY = 'parley.identity';
const DISPLAY_NAME_KEY = 'parley.displayName';
const IDENTITY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The identity this tab joins with. It is kept in sessionStorage, which is per tab: two tabs join
 * as two participants, while reloading a tab rejoins as the same participant (the server then
 * replaces the stale connection instead of showing a ghost).
 */
export function tabIdentity(): string {
  const stored = readStorage(() => sessionStorage, IDENTITY_KEY);
  if (stored) return stored;
  const identity = `guest-${randomId(12)}`;
  writeStorage(() => sessionStorage, IDENTITY_KEY, identity);
  return identity;
}

/** The display name typed on an earlier visit, or '' the first time. */
export function rememberedDisplayName(): string {
  return readStorage(() => localStorage, DISPLAY_NAME_KEY) ?? '';
}

export function rememberDisplayName(name: string): void {
  writeStorage(() => localStorage, DISPLAY_NAME_KEY, name);
}

/**
 * A random lowercase id. crypto.getRandomValues rather than crypto.randomUUID, because the latter
 * only exists in secure contexts and the app may be opened over plain http on a LAN.
 */
export function randomId(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => IDENTITY_ALPHABET.charAt(byte % IDENTITY_ALPHABET.length)).join('');
}

// Storage can be missing or throw (privacy modes, disabled cookies); the app must still work then,
// just without remembering anything. The getter is lazy because merely touching
// `window.localStorage` can throw in such browsers.
function readStorage(storage: () => Storage, key: string): string | undefined {
  try {
    return storage().getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

function writeStorage(storage: () => Storage, key: string, value: string): void {
  try {
    storage().setItem(key, value);
  } catch {
    // Not remembering is fine.
  }
}
