import { networkInterfaces } from 'node:os';

export interface HostAddress {
  interfaceName: string;
  address: string;
}

/**
 * The host's own non-loopback IPv4 address. Janus never gathers loopback ICE candidates, so the
 * SFU and the synthetic clients talk over this address (the kernel still routes it locally).
 */
export function hostAddress(): HostAddress {
  for (const [interfaceName, addresses] of Object.entries(networkInterfaces())) {
    const ipv4 = addresses?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (ipv4) return { interfaceName, address: ipv4.address };
  }
  throw new Error('no non-loopback IPv4 interface: the SFU benchmark needs the host address that Janus gathers ICE candidates on');
}
