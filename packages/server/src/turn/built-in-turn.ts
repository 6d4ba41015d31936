/** Starts the built-in TURN server from the `turn` configuration and names the URLs participants get. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ConfigError, type ServerConfig } from '../config/config.js';
import { isLoopbackHost } from '../config/hosts.js';
import type { TlsMaterial } from '../http/tls.js';
import type { Logger } from '../logger.js';
import { sfuIcePassword } from '../sfu/ice-credentials.js';
import { sfuMediaPorts } from '../sfu/start.js';
import { TurnServer } from './turn-server.js';

export interface BuiltInTurn {
  readonly server: TurnServer;
  /** `stun:`, `turn:` (UDP and TCP) and, with TLS, `turns:` URLs for the ICE server list. */
  readonly urls: string[];
}

export async function startBuiltInTurn(config: ServerConfig, secret: string, tls: TlsMaterial | undefined, logger: Logger): Promise<BuiltInTurn> {
  const turn = config.turn;
  const configuredHost = turn.host ?? config.host;
  // The UDP sockets take addresses only (see literalLookup in literal-lookup.ts): resolve a name once.
  const host = isIP(configuredHost) ? configuredHost : (await lookup(configuredHost)).address;
  const relayAddress = defaultRelayAddress(config, host, hostIpv4Addresses());
  const relayAddressIpv6 = turn.relayAddressIpv6 ?? (isIP(host) === 6 && host !== '::' ? host : undefined);
  let server: TurnServer;
  try {
    server = await TurnServer.start({
      host,
      port: turn.port,
      ...(tls ? { tls: { port: turn.tlsPort, cert: tls.cert, key: tls.key } } : {}),
      relayAddress,
      ...(relayAddressIpv6 ? { relayAddressIpv6 } : {}),
      ...(turn.externalAddress ? { externalAddress: turn.externalAddress } : {}),
      relayPorts: { min: turn.relayPortMin, max: turn.relayPortMax },
      realm: turn.realm,
      secret,
      allowedPeers: turn.allowedPeers,
      deniedPeers: turn.deniedPeers,
      mediaPorts: sfuMediaPorts(config),
      sfuIcePassword,
      maxAllocations: turn.maxAllocations,
      maxAllocationsPerUser: turn.maxAllocationsPerUser,
      bytesPerSecond: turn.bytesPerSecond,
      logger,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(
        `the built-in TURN server cannot listen on ${host} port ${turn.port}/${turn.tlsPort} (${code}): ` +
          'pick another with PARLEY_TURN_PORT (turn.port), or turn it off with PARLEY_TURN=0 (turn.enabled: false)',
      );
    }
    throw error;
  }
  const { udp, tls: tlsPort } = server.addresses;
  const { plain, tls: tlsName } = turnUrlHosts(turn, host, relayAddress);
  const urls = [`stun:${plain}:${udp}`, `turn:${plain}:${udp}?transport=udp`, `turn:${plain}:${udp}?transport=tcp`];
  if (tlsPort !== 0) urls.push(`turns:${tlsName}:${tlsPort}?transport=tcp`);
  logger.info('built-in TURN listening', { host, port: udp, tlsPort: tlsPort || undefined, relayAddress, realm: turn.realm, urls: urls.join(' ') });
  return { server, urls };
}

/**
 * The host part of the URLs participants get. `turns:` needs a name: the browser checks the
 * certificate against it, and Firefox refuses `turns:` with an IP address outright ("TLS requires
 * FQDN"). `stun:` and `turn:` take the external address when one is set, even beside a name: no
 * DNS lookup before the first candidate, and no dependence on DNS for UDP and TCP relaying.
 * Without either, the listening address, or the relay address when listening on every interface.
 */
export function turnUrlHosts(turn: Pick<ServerConfig['turn'], 'publicHost' | 'externalAddress'>, host: string, relayAddress: string): { plain: string; tls: string } {
  const fallback = host !== '0.0.0.0' && host !== '::' ? host : relayAddress;
  const bracket = (name: string) => (isIP(name) === 6 ? `[${name}]` : name);
  return {
    plain: bracket(turn.externalAddress ?? turn.publicHost ?? fallback),
    tls: bracket(turn.publicHost ?? turn.externalAddress ?? fallback),
  };
}

/**
 * Where relay sockets bind (IPv4) when `turn.relayAddress` is not set: the address this node's
 * SFU media is reached at, so that a relayed participant reaches the SFU. Relayed packets leave
 * from the relay address and the SFU answers to it; a reply comes from the SFU's address only when
 * the relay address is that address (its sockets answer from the address a packet is sent to on
 * this host). Relaying from 127.0.0.1 toward the SFU's 192.0.2.2, the answers came back from
 * 127.0.0.1, which neither the TURN permission nor the browser's ICE check matches, and a
 * relay-only participant received nothing in an SFU room.
 *
 * In order: the SFU's announced address when it is one of this host's (not a 1:1 NAT's public
 * address); the SFU's bind address when it is one address; the TURN listening address when it is
 * one address off loopback; then, on a loopback server with an SFU (it binds every interface and
 * its candidates carry the interfaces' addresses, not 127.0.0.1) or a wildcard one, the host's
 * first non-loopback IPv4; else the listening address (127.0.0.1: relaying between loopback
 * participants only). `hostAddresses`: this host's IPv4 addresses, non-loopback first.
 */
export function defaultRelayAddress(config: Pick<ServerConfig, 'turn' | 'sfu' | 'cluster'>, host: string, hostAddresses: readonly string[]): string {
  if (config.turn.relayAddress !== undefined) return config.turn.relayAddress;
  const concrete = (address: string | undefined): address is string => address !== undefined && isIP(address) === 4 && address !== '0.0.0.0';
  const firstPublic = hostAddresses.find((address) => !isLoopbackHost(address));
  const runsSfu = config.cluster.roles.includes('media');
  if (runsSfu) {
    const announced = config.sfu.announcedAddress;
    if (concrete(announced) && hostAddresses.includes(announced)) return announced;
    if (concrete(config.sfu.bindAddress)) return config.sfu.bindAddress;
  }
  if (concrete(host) && !isLoopbackHost(host)) return host;
  if (concrete(host) && !runsSfu) return host;
  return firstPublic ?? (concrete(host) ? host : '127.0.0.1');
}

/** This host's IPv4 addresses, non-loopback ones first. */
function hostIpv4Addresses(): string[] {
  const entries = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((entry) => entry.family === 'IPv4');
  return [...entries.filter((entry) => !entry.internal), ...entries.filter((entry) => entry.internal)].map((entry) => entry.address);
}
