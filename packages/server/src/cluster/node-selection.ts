import type { NodeInfo } from './cluster-types.js';

/**
 * The node a new room goes to: a serving media node, the least loaded. Load is its participants
 * (heartbeated every second) plus the rooms placed on it (counted by the backend at once: ten
 * rooms created between two heartbeats must not all land on one node), then whole cores its SFU
 * workers keep busy (a node busy with fewer but heavier rooms; rounded, so start-up noise does
 * not decide), then the id, so every node computes the same order from the same records.
 */
export function selectMediaNode(nodes: readonly NodeInfo[]): NodeInfo | undefined {
  const load = (node: NodeInfo) => node.load.participants + (node.placedRooms ?? 0);
  const cores = (node: NodeInfo) => Math.round(node.load.sfuCpu);
  return nodes
    .filter((node) => node.state === 'serving' && node.roles.includes('media'))
    .sort((a, b) => load(a) - load(b) || cores(a) - cores(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}
