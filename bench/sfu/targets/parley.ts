import type { PublisherClient } from '../clients/client-pool.ts';
import type { HostAddress } from '../host-address.ts';
import { TargetUnavailableError, type Round, type SfuTarget } from './target.ts';

export class ParleyTarget implements SfuTarget {
  readonly name = 'parley';
  readonly description = 'Parley SFU';

  constructor(private readonly host: HostAddress) {}

  async start(): Promise<void> {
    throw new TargetUnavailableError(`not implemented yet (host ${this.host.address})`);
  }

  processIds(): number[] {
    return [];
  }

  async openRound(_publisher: PublisherClient): Promise<Round> {
    throw new Error('not implemented');
  }

  async stop(): Promise<void> {}
}
