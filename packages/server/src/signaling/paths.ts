/** The signaling WebSocket's path on every node. */
export const SIGNALING_PATH = '/ws';
