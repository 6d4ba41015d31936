/**
 * The client-to-peer data path (RFC 8656 sections 10 and 12): Send indications and ChannelData.
 * Neither is answered; what cannot be relayed is counted as dropped.
 */
import type { Allocation } from '../allocation.js';
import { readXorAddress } from '../attributes.js';
import { CHANNEL_DATA_HEADER_BYTES } from '../framing.js';
import type { TurnMetrics } from '../metrics.js';
import { Attr, type StunMessage } from '../stun-message.js';

export function handleSendIndication(metrics: TurnMetrics, message: StunMessage, allocation: Allocation): void {
  if (message.unknownRequired().length > 0) return;
  const peer = readXorAddress(message, Attr.XorPeerAddress);
  const data = message.value(Attr.Data);
  if (peer === undefined || data === undefined || peer.family !== allocation.family) {
    metrics.packetsDropped++;
    return;
  }
  allocation.toPeer(peer.address, peer.port, data);
}

/**
 * A ChannelData message (header and data, without stream padding) from the client owning
 * `allocation`; dropped without an allocation or when shorter than its length field says.
 */
export function handleChannelData(metrics: TurnMetrics, message: Buffer, allocation: Allocation | undefined): void {
  const length = message.readUInt16BE(2);
  if (allocation === undefined || CHANNEL_DATA_HEADER_BYTES + length > message.length) {
    metrics.packetsDropped++;
    return;
  }
  allocation.fromClientChannel(message.readUInt16BE(0), message.subarray(CHANNEL_DATA_HEADER_BYTES, CHANNEL_DATA_HEADER_BYTES + length));
}
