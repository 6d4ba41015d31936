/**
 * Relay port reservation: a relay UDP socket bound on a random port of the configured range (an
 * even one for EVEN-PORT), and the second port of an EVEN-PORT pair held for a later Allocate
 * that presents its RESERVATION-TOKEN (RFC 8656 section 14.9).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { literalLookup } from './literal-lookup.js';

const RELAY_BIND_ATTEMPTS = 32;
export const RESERVATION_LIFETIME_MS = 30_000;
/** Socket buffers absorb bursts between event-loop turns (the kernel caps them at net.core.[rw]mem_max). */
const RELAY_BUFFER_BYTES = 1024 * 1024;

export interface Reservation {
  readonly socket: UdpSocket;
  readonly family: 4 | 6;
}

export class RelayPorts {
  private readonly reservations = new Map<string, Reservation & { expiresAt: number }>();

  constructor(
    private readonly range: { readonly min: number; readonly max: number },
    private readonly now: () => number,
  ) {}

  /** Reserved sockets not yet taken or expired. */
  get reserved(): number {
    return this.reservations.size;
  }

  /**
   * Binds a relay socket on a random port of the range: an even one for EVEN-PORT, and with the
   * next port bound too (the reservation) when the R bit asks for a pair.
   */
  async bind(family: 4 | 6, address: string, even: boolean, pair: boolean): Promise<[UdpSocket, UdpSocket?] | undefined> {
    const { min, max } = this.range;
    for (let attempt = 0; attempt < RELAY_BIND_ATTEMPTS; attempt++) {
      let port = min + Math.floor(Math.random() * (max - min + 1));
      if (even && port % 2 === 1) port = port + 1 <= max ? port + 1 : port - 1;
      if (port < min || (pair && port + 1 > max)) continue;
      const first = await bindUdp(family, address, port);
      if (first === undefined || !pair) {
        if (first !== undefined) return [first];
        continue;
      }
      const second = await bindUdp(family, address, port + 1);
      if (second !== undefined) return [first, second];
      first.close();
    }
    return undefined;
  }

  /** Holds the second socket of an EVEN-PORT pair for a later Allocate with its token (RFC 8656 section 14.9). */
  reserve(socket: UdpSocket, family: 4 | 6): Buffer {
    const token = randomBytes(8);
    this.reservations.set(token.toString('hex'), { socket, family, expiresAt: this.now() + RESERVATION_LIFETIME_MS });
    return token;
  }

  /** The reservation of a token, once: an unknown token gives undefined, an expired one is closed. */
  take(token: Buffer): Reservation | undefined {
    const key = token.toString('hex');
    const reservation = this.reservations.get(key);
    this.reservations.delete(key);
    if (reservation === undefined) return undefined;
    if (reservation.expiresAt > this.now()) return reservation;
    reservation.socket.close();
    return undefined;
  }

  /** Closes reservations nobody claimed in time. */
  sweep(now: number): void {
    for (const [key, reservation] of this.reservations) {
      if (reservation.expiresAt > now) continue;
      reservation.socket.close();
      this.reservations.delete(key);
    }
  }

  close(): void {
    for (const reservation of this.reservations.values()) reservation.socket.close();
    this.reservations.clear();
  }
}

function bindUdp(family: 4 | 6, address: string, port: number): Promise<UdpSocket | undefined> {
  const options = { lookup: literalLookup, recvBufferSize: RELAY_BUFFER_BYTES, sendBufferSize: RELAY_BUFFER_BYTES };
  const socket = createSocket(family === 6 ? { type: 'udp6', ipv6Only: true, ...options } : { type: 'udp4', ...options });
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, address, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
