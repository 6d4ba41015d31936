import type { NodeInfo } from './cluster-types.js';

/**
 * The node a new room goes to: a serving media node, the least loaded. Load is participants
 * first (what a room brings), then SFU CPU (a node whose workers are busy with fewer but heavier
 * rooms), then the id, so every node computes the same order from the same records.
 */
export function selectMediaNode(nodes: readonly NodeInfo[]): NodeInfo | undefined {
  return nodes
    .filter((node) => node.state === 'serving' && node.roles.includes('media'))
    .sort((a, b) => a.load.participants - b.load.participants || a.load.sfuCpu - b.load.sfuCpu || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}
