/** How the server reaches a TURN client: over its UDP 5-tuple, or over its TCP/TLS connection. */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket as TcpSocket } from 'node:net';
import { CHANNEL_DATA_HEADER_BYTES } from './framing.js';

export interface ClientTransport {
  readonly protocol: 'udp' | 'tcp' | 'tls';
  /** Where the client's packets come from (IPv4-mapped IPv6 addresses shown as IPv4). */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** `udp 192.0.2.1:5000`: names the 5-tuple and binds nonces to it. */
  readonly id: string;
  send(message: Buffer): void;
  sendChannelData(channel: number, data: Buffer): void;
  /** A Data indication: `prefix` is everything up to the DATA value; padding is added here. */
  sendDataIndication(prefix: Buffer, data: Buffer): void;
}

const PADDING = Buffer.alloc(3);

function unmapped(address: string): { address: string; family: 4 | 6 } {
  if (address.startsWith('::ffff:') && address.includes('.')) return { address: address.slice(7), family: 4 };
  return { address, family: address.includes(':') ? 6 : 4 };
}

export class UdpClient implements ClientTransport {
  readonly protocol = 'udp';
  readonly address: string;
  readonly family: 4 | 6;
  readonly id: string;

  constructor(
    private readonly socket: UdpSocket,
    /** The socket's own view of the address, used for sending and for finding the allocation. */
    readonly rawAddress: string,
    readonly port: number,
    /** One ChannelData header reused while the socket sends synchronously (see sendChannelData). */
    private readonly sharedHeader: Buffer,
  ) {
    ({ address: this.address, family: this.family } = unmapped(rawAddress));
    this.id = `udp ${this.address}:${port}`;
  }

  send(message: Buffer): void {
    this.socket.send(message, this.port, this.rawAddress);
  }

  /**
   * Node tries a synchronous send first; only a send that had to be queued keeps its buffers. So
   * the shared header is safe whenever the queue is empty, and a queued backlog gets fresh headers.
   */
  sendChannelData(channel: number, data: Buffer): void {
    const header = this.socket.getSendQueueCount() === 0 ? this.sharedHeader : Buffer.allocUnsafe(CHANNEL_DATA_HEADER_BYTES);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(data.length, 2);
    this.socket.send([header, data], this.port, this.rawAddress);
  }

  sendDataIndication(prefix: Buffer, data: Buffer): void {
    const padding = (4 - (data.length % 4)) % 4;
    this.socket.send(padding === 0 ? [prefix, data] : [prefix, data, PADDING.subarray(0, padding)], this.port, this.rawAddress);
  }
}

export class StreamClient implements ClientTransport {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly id: string;

  constructor(
    readonly protocol: 'tcp' | 'tls',
    private readonly socket: TcpSocket,
  ) {
    ({ address: this.address, family: this.family } = unmapped(socket.remoteAddress ?? '0.0.0.0'));
    this.port = socket.remotePort ?? 0;
    this.id = `${protocol} ${this.address}:${this.port}`;
  }

  send(message: Buffer): void {
    if (this.socket.writable) this.socket.write(message);
  }

  sendChannelData(channel: number, data: Buffer): void {
    if (!this.socket.writable) return;
    const padding = (4 - (data.length % 4)) % 4;
    const header = Buffer.allocUnsafe(CHANNEL_DATA_HEADER_BYTES);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(data.length, 2);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(data);
    if (padding > 0) this.socket.write(PADDING.subarray(0, padding));
    this.socket.uncork();
  }

  sendDataIndication(prefix: Buffer, data: Buffer): void {
    if (!this.socket.writable) return;
    const padding = (4 - (data.length % 4)) % 4;
    this.socket.cork();
    this.socket.write(prefix);
    this.socket.write(data);
    if (padding > 0) this.socket.write(PADDING.subarray(0, padding));
    this.socket.uncork();
  }
}
