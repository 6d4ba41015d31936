/** Counters of the built-in TURN server, read at each scrape of GET /metrics (`parley_turn_*`). Plain fields: the relay path bumps them per packet. */
export class TurnMetrics {
  allocationsActive = 0;
  allocationsTotal = 0;
  /** Client -> peer. */
  packetsToPeers = 0;
  bytesToPeers = 0;
  /** Peer -> client. */
  packetsToClients = 0;
  bytesToClients = 0;
  /** Packets dropped: no permission or channel, over the bandwidth quota, or an unreachable relay port. */
  packetsDropped = 0;
  /** CreatePermission/ChannelBind refused (403) by the peer address policy. */
  permissionsRefused = 0;
  /** Requests with wrong, expired or unknown credentials (401/441), not the first unauthenticated challenge. */
  authFailures = 0;
  bindingRequests = 0;

  get relayedPackets(): number {
    return this.packetsToPeers + this.packetsToClients;
  }

  get relayedBytes(): number {
    return this.bytesToPeers + this.bytesToClients;
  }

  snapshot(): Record<string, number> {
    return {
      allocationsActive: this.allocationsActive,
      allocationsTotal: this.allocationsTotal,
      relayedPackets: this.relayedPackets,
      relayedBytes: this.relayedBytes,
      packetsToPeers: this.packetsToPeers,
      bytesToPeers: this.bytesToPeers,
      packetsToClients: this.packetsToClients,
      bytesToClients: this.bytesToClients,
      packetsDropped: this.packetsDropped,
      permissionsRefused: this.permissionsRefused,
      authFailures: this.authFailures,
      bindingRequests: this.bindingRequests,
    };
  }
}
