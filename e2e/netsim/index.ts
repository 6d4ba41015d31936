// Network simulation for e2e tests: see network.ts, and README.md here for usage.
export { createNetwork, sweepStaleNetworks, Network, PROFILES, NAMESPACE_PREFIX, LAN_SUFFIX, type LinkShape, type NetworkOptions, type ProfileName } from './network.ts';
export { TcpProxy, type TcpProxyOptions } from './tcp-proxy.ts';
export { UdpRelay, type UdpRelayOptions } from './udp-relay.ts';
export { createNattedNetwork, NattedNetwork, type NatMapping } from './nat.ts';
