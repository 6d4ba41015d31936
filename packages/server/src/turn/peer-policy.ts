/**
 * Which peers an allocation may reach (the CVE-2020-26262 class: a relay must not become a way
 * into the server's own host or private network). Default deny: loopback, private (RFC 1918,
 * RFC 4193), link-local, multicast, unspecified/reserved, and the server's own addresses, also
 * when written as IPv4-mapped, IPv4-compatible or NAT64 IPv6. An operator's allow list overrides
 * the default deny; the operator's deny list overrides everything.
 */
import { BlockList, isIP } from 'node:net';
import { addressBytes } from './attributes.js';

export const DEFAULT_DENIED_PEERS = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
] as const;

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** `a.b.c.d/n`, `ipv6/n`, or a bare address (one host). Throws a readable error when invalid. */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  if (version === 0 || extra !== undefined) throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR range`);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw new Error(`${JSON.stringify(text)}: the prefix length must be a number`);
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new Error(`${JSON.stringify(text)}: an IPv${version} prefix is at most /${max}`);
  return { address, prefix, family: version as 4 | 6 };
}

/** A CIDR as the numbers of its first and last address. */
export interface AddressRange {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

export function cidrBounds(text: string): AddressRange {
  const { address, prefix, family } = parseCidr(text);
  const bits = family === 4 ? 32n : 128n;
  const value = BigInt(`0x${addressBytes(address, family).toString('hex')}`);
  const hostBits = bits - BigInt(prefix);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n };
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  const hex = value.toString(16).padStart(family === 4 ? 8 : 32, '0');
  const bytes = Buffer.from(hex, 'hex');
  return family === 4 ? [...bytes].join('.') : [0, 2, 4, 6, 8, 10, 12, 14].map((i) => bytes.readUInt16BE(i).toString(16)).join(':');
}

/** The first and last address of a range, as coturn's `a-b` peer ranges want them. */
export function cidrToRange(text: string): string {
  const { family, first, last } = cidrBounds(text);
  return `${formatAddress(family, first)}-${formatAddress(family, last)}`;
}

export type PeerVerdict = 'allow' | 'deny' | 'relay-ports-only';

export interface PeerPolicyOptions {
  allowed: readonly string[];
  denied: readonly string[];
  /** The host's own addresses (interfaces, listening addresses). */
  ownAddresses: readonly string[];
  /** Relay addresses: reaching another allocation through them is how two relayed clients talk. */
  relayAddresses: readonly string[];
}

export class PeerPolicy {
  private readonly allowed = new BlockList();
  private readonly denied = new BlockList();
  private readonly defaultDenied = new BlockList();
  private readonly own = new BlockList();
  private readonly relay = new BlockList();

  constructor(options: PeerPolicyOptions) {
    for (const cidr of options.allowed) addCidr(this.allowed, cidr);
    for (const cidr of options.denied) addCidr(this.denied, cidr);
    for (const cidr of DEFAULT_DENIED_PEERS) addCidr(this.defaultDenied, cidr);
    for (const address of options.ownAddresses) addCidr(this.own, address);
    for (const address of options.relayAddresses) addCidr(this.relay, address);
  }

  /**
   * `relay-ports-only`: the address is one of this server's public relay addresses; only ports of
   * live allocations may be reached there, never the host's other services.
   */
  check(address: string): PeerVerdict {
    const forms = addressForms(address);
    if (forms === undefined) return 'deny';
    if (forms.some(([a, t]) => this.denied.check(a, t))) return 'deny';
    if (forms.some(([a, t]) => this.allowed.check(a, t))) return 'allow';
    if (forms.some(([a, t]) => this.defaultDenied.check(a, t))) return 'deny';
    if (forms.some(([a, t]) => this.relay.check(a, t))) return 'relay-ports-only';
    if (forms.some(([a, t]) => this.own.check(a, t))) return 'deny';
    return 'allow';
  }
}

function addCidr(list: BlockList, text: string): void {
  const { address, prefix, family } = parseCidr(text);
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

type Form = [string, 'ipv4' | 'ipv6'];

/** The address plus the IPv4 address an IPv6 form embeds (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96). */
function addressForms(address: string): Form[] | undefined {
  const version = isIP(address);
  if (version === 4) return [[address, 'ipv4']];
  if (version !== 6) return undefined;
  const bytes = addressBytes(address, 6);
  const zeroPrefix = bytes.subarray(0, 10).every((b) => b === 0);
  const mapped = zeroPrefix && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = zeroPrefix && bytes[10] === 0 && bytes[11] === 0;
  const nat64 = bytes.readUInt32BE(0) === 0x0064ff9b && bytes.subarray(4, 12).every((b) => b === 0);
  if (!mapped && !compatible && !nat64) return [[address, 'ipv6']];
  return [[address, 'ipv6'], [[...bytes.subarray(12)].join('.'), 'ipv4']];
}
