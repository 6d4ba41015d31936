/** What the STUN method handlers share with the server that dispatches to them. */
import type { AllocationContext } from '../allocation.js';
import type { AllocationRegistry } from '../allocation-registry.js';
import type { NonceIssuer } from '../credentials.js';
import type { TurnMetrics } from '../metrics.js';
import type { TurnServerOptions } from '../options.js';
import type { PeerPolicy } from '../peer-policy.js';
import type { RelayPorts } from '../relay-ports.js';

export interface HandlerContext {
  readonly options: TurnServerOptions;
  readonly metrics: TurnMetrics;
  readonly now: () => number;
  readonly nonces: NonceIssuer;
  readonly policy: PeerPolicy;
  readonly registry: AllocationRegistry;
  readonly relayPorts: RelayPorts;
  /** Handed to every new Allocation. */
  readonly allocationContext: AllocationContext;
}
