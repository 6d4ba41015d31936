// Room names: what the server accepts, how we explain a bad one, and how they appear in URLs.

/** Same rule as the server (packages/protocol RoomName): 1-128 of A-Z a-z 0-9 . _ ~ -, starting alphanumeric. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

const MAX_ROOM_NAME_LENGTH = 128;

/** Why `name` is not a valid room name, as a sentence for the user; undefined when it is valid. */
export function roomNameProblem(name: string): string | undefined {
  if (name === '') return 'Please enter a room name.';
  if (ROOM_NAME_PATTERN.test(name)) return undefined;
  if (name.length > MAX_ROOM_NAME_LENGTH) return `Room names can be at most ${MAX_ROOM_NAME_LENGTH} characters long.`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'Room names must start with a letter or a digit.';
  if (/\s/.test(name)) return 'Room names cannot contain spaces. Use a dash instead, for example "team-standup".';
  return 'Room names can only use letters, digits, dots, dashes, underscores and tildes (. - _ ~).';
}

const ADJECTIVES = ['amber', 'blue', 'brave', 'calm', 'clever', 'coral', 'eager', 'gentle', 'golden', 'happy', 'jolly', 'lucky', 'mellow', 'quiet', 'rapid', 'silver', 'sunny', 'swift', 'tidy', 'witty'];
const ANIMALS = ['badger', 'beaver', 'crane', 'dolphin', 'falcon', 'fox', 'gecko', 'heron', 'koala', 'lynx', 'marten', 'otter', 'owl', 'panda', 'puffin', 'robin', 'seal', 'tapir', 'walrus', 'wren'];

/** A random, easy-to-read-aloud room name such as "blue-otter-42". */
export function randomRoomName(): string {
  const [adjective, animal, number] = crypto.getRandomValues(new Uint16Array(3));
  return `${pick(ADJECTIVES, adjective)}-${pick(ANIMALS, animal)}-${10 + ((number ?? 0) % 90)}`;
}

function pick(words: readonly string[], random: number | undefined): string {
  return words[(random ?? 0) % words.length] ?? words[0] ?? '';
}

/** The `?room=` query parameter of a location.search string, if present and not blank. */
export function roomFromSearch(search: string): string | undefined {
  const room = new URLSearchParams(search).get('room')?.trim();
  return room ? room : undefined;
}

/** The app path that opens the join page for `room` (also what the address bar shows during a call). */
export function roomPath(room: string): string {
  return `/?${new URLSearchParams({ room }).toString()}`;
}

/** The link to send to other people so they land on the join page of `room`. */
export function inviteLink(origin: string, room: string): string {
  return `${origin}${roomPath(room)}`;
}
