// What the app exposes for the e2e tests (e2e/), beyond the data-testid attributes in index.html.

import type { Room } from '@parley/client';

declare global {
  interface Window {
    /** The Room of the current join attempt or call; undefined on the join page. */
    parleyRoom?: Room | undefined;
  }
}

export function exposeRoomForTests(room: Room | undefined): void {
  window.parleyRoom = room;
}
