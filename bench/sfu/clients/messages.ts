// Requests from the benchmark to a synthetic-client process (over the child-process IPC channel)
// and their results. Peers are named by the benchmark; one process holds any number of them.

export interface ClientSettings {
  bindAddress: string;
  packetsPerSecond: number;
  payloadBytes: number;
  /** Enough room in each subscriber's received-packet bitmap for the whole round. */
  maxPackets: number;
}

export type ClientRequest =
  | { type: 'createPublisher'; peer: string; payloadType: number }
  | { type: 'createSubscriber'; peer: string }
  | { type: 'createOffer'; peer: string }
  | { type: 'acceptOffer'; peer: string; sdp: string }
  | { type: 'acceptAnswer'; peer: string; sdp: string }
  | { type: 'addRemoteCandidate'; peer: string; candidate: string; mid: string }
  | { type: 'peerState'; peer: string }
  | { type: 'startPublishing'; peer: string }
  | { type: 'nextPacketIndex'; peer: string }
  | { type: 'publisherStats'; peer: string }
  | { type: 'receivedStats'; peers: string[]; fromIndex: number; toIndex: number };

export interface PeerState {
  connection: string;
  packetsReceived: number;

}

export interface ReceivedStats {
  /** Distinct packet indices in [fromIndex, toIndex) received, per peer. */
  inWindow: number[];
  /** NACK packets each peer has sent so far. */
  nacksSent: number[];
}

export interface PublisherStats {
  keyframeRequests: number;
  retransmitted: number;
}

export type ClientResult = string | number | PeerState | ReceivedStats | PublisherStats | null;

export interface ClientEnvelope {
  id: number;
  request: ClientRequest;
}

export type ClientReply = { id: number; ok: true; result: ClientResult } | { id: number; ok: false; error: string };
