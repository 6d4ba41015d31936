/**
 * Which peers an allocation may reach (the CVE-2020-26262 class: a relay must not become a way
 * into the server's own host or private network). Default deny: every range of the IANA IPv4 and
 * IPv6 special-purpose address registries (RFC 6890 and its updates) that is not globally
 * reachable, and the server's own addresses, also when written as IPv4-mapped, IPv4-compatible,
 * NAT64 or 6to4 IPv6. The server's relay addresses are reachable on live relay ports only (two
 * relayed clients talking), whatever range they are in; so are the host's own addresses when it
 * runs an SFU, on the SFU's media ports too (a client that can only use TURN reaches the SFU). An operator's allow list overrides the
 * default deny; the operator's deny list overrides everything.
 */
import { BlockList, isIP } from 'node:net';
import { addressBytes } from './attributes.js';

/**
 * The IANA special-purpose registries' ranges whose "globally reachable" is false (or that are
 * deprecated or reserved), as of 2024: what no relay should send to on a client's say.
 */
export const DEFAULT_DENIED_PEERS = [
  // IPv4 (iana-ipv4-special-registry)
  '0.0.0.0/8', // "this network" (RFC 791)
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // shared address space, carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback (RFC 1122)
  '169.254.0.0/16', // link-local (RFC 3927)
  '172.16.0.0/12', // private (RFC 1918)
  '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
  '192.0.2.0/24', // documentation TEST-NET-1 (RFC 5737)
  '192.88.99.0/24', // deprecated 6to4 relay anycast (RFC 7526)
  '192.168.0.0/16', // private (RFC 1918)
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '198.51.100.0/24', // documentation TEST-NET-2 (RFC 5737)
  '203.0.113.0/24', // documentation TEST-NET-3 (RFC 5737)
  '224.0.0.0/4', // multicast (RFC 5771)
  '240.0.0.0/4', // reserved (RFC 1112), including 255.255.255.255, limited broadcast (RFC 919)
  // IPv6 (iana-ipv6-special-registry)
  '::/128', // unspecified (RFC 4291)
  '::1/128', // loopback (RFC 4291)
  '64:ff9b:1::/48', // local-use IPv4/IPv6 translation (RFC 8215)
  '100::/64', // discard-only (RFC 6666)
  '2001::/23', // IETF protocol assignments: Teredo, benchmarking, ORCHID (RFC 2928)
  '2001:db8::/32', // documentation (RFC 3849)
  '2002::/16', // 6to4 (RFC 3056; deprecated, RFC 7526)
  '3fff::/20', // documentation (RFC 9637)
  '5f00::/16', // segment routing SIDs (RFC 9602)
  'fc00::/7', // unique local (RFC 4193)
  'fe80::/10', // link-local (RFC 4291)
  'fec0::/10', // deprecated site-local (RFC 3879)
  'ff00::/8', // multicast (RFC 4291)
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

/** `relay-ports-only`: live relay ports, and the host's SFU media ports when the server has them. */
export type PeerVerdict = 'allow' | 'deny' | 'relay-ports-only';

export interface PeerPolicyOptions {
  allowed: readonly string[];
  denied: readonly string[];
  /** The host's own addresses (interfaces, listening addresses). */
  ownAddresses: readonly string[];
  /** Relay addresses: reaching another allocation through them is how two relayed clients talk. */
  relayAddresses: readonly string[];
  /** Whether the host's own addresses are reachable on the relay-only ports (the host runs an SFU). */
  ownAddressesOnRelayPorts?: boolean;
}

export class PeerPolicy {
  private readonly allowed = new BlockList();
  private readonly denied = new BlockList();
  private readonly defaultDenied = new BlockList();
  private readonly own = new BlockList();
  private readonly relay = new BlockList();
  private readonly ownOnRelayPorts: boolean;

  constructor(options: PeerPolicyOptions) {
    for (const cidr of options.allowed) addCidr(this.allowed, cidr);
    for (const cidr of options.denied) addCidr(this.denied, cidr);
    for (const cidr of DEFAULT_DENIED_PEERS) addCidr(this.defaultDenied, cidr);
    for (const address of options.ownAddresses) addCidr(this.own, address);
    for (const address of options.relayAddresses) addCidr(this.relay, address);
    this.ownOnRelayPorts = options.ownAddressesOnRelayPorts ?? false;
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
    if (forms.some(([a, t]) => this.relay.check(a, t))) return 'relay-ports-only';
    const own = forms.some(([a, t]) => this.own.check(a, t));
    // The host's own addresses, private ones too (an SFU on a LAN address), on its SFU's ports only.
    if (own && this.ownOnRelayPorts) return 'relay-ports-only';
    if (own || forms.some(([a, t]) => this.defaultDenied.check(a, t))) return 'deny';
    return 'allow';
  }
}

function addCidr(list: BlockList, text: string): void {
  const { address, prefix, family } = parseCidr(text);
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

type Form = [string, 'ipv4' | 'ipv6'];

/**
 * The address plus the IPv4 address an IPv6 form embeds: mapped ::ffff:a.b.c.d, compatible
 * ::a.b.c.d, NAT64 64:ff9b::/96 (last 32 bits), 6to4 2002:aabb:ccdd::/48 (bits 16-47).
 */
function addressForms(address: string): Form[] | undefined {
  const version = isIP(address);
  if (version === 4) return [[address, 'ipv4']];
  if (version !== 6) return undefined;
  const bytes = addressBytes(address, 6);
  const zeroPrefix = bytes.subarray(0, 10).every((b) => b === 0);
  const mapped = zeroPrefix && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = zeroPrefix && bytes[10] === 0 && bytes[11] === 0;
  const nat64 = bytes.readUInt32BE(0) === 0x0064ff9b && bytes.subarray(4, 12).every((b) => b === 0);
  if (mapped || compatible || nat64) return [[address, 'ipv6'], [[...bytes.subarray(12)].join('.'), 'ipv4']];
  if (bytes.readUInt16BE(0) === 0x2002) return [[address, 'ipv6'], [[...bytes.subarray(2, 6)].join('.'), 'ipv4']];
  return [[address, 'ipv6']];
}
