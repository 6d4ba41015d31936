import type { NodeInfo } from './cluster-types.js';

/**
 * The media nodes a new room may go to, in the order that breaks ties: serving media nodes, then
 * whole cores their SFU workers keep busy (a node busy with fewer but heavier rooms; rounded, so
 * start-up noise does not decide), then the id, so every node computes the same order from the
 * same records.
 */
export function mediaCandidates(nodes: readonly NodeInfo[]): NodeInfo[] {
  const cores = (node: NodeInfo) => Math.round(node.load.sfuCpu);
  return nodes
    .filter((node) => node.state === 'serving' && node.roles.includes('media'))
    .sort((a, b) => cores(a) - cores(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A node's load for placement: its participants (heartbeated every second) plus the rooms placed
 * on it (counted by the backend at once: ten rooms created between two heartbeats must not all
 * land on one node).
 */
export function placementLoad(node: NodeInfo): number {
  return node.load.participants + (node.placedRooms ?? 0);
}

/** The node a new room goes to: the least loaded candidate, ties in candidate order. */
export function selectMediaNode(nodes: readonly NodeInfo[]): NodeInfo | undefined {
  let best: NodeInfo | undefined;
  for (const node of mediaCandidates(nodes)) if (best === undefined || placementLoad(node) < placementLoad(best)) best = node;
  return best;
}
