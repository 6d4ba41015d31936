/** Starts the built-in TURN server from the `turn` configuration and names the URLs participants get. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ConfigError, type ServerConfig } from '../config/config.js';
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
  const relayAddress = turn.relayAddress ?? (isIP(host) === 4 && host !== '0.0.0.0' ? host : firstPublicIpv4() ?? '127.0.0.1');
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
  const publicHost = turn.publicHost ?? turn.externalAddress ?? (host !== '0.0.0.0' && host !== '::' ? host : relayAddress);
  const name = isIP(publicHost) === 6 ? `[${publicHost}]` : publicHost;
  const urls = [`stun:${name}:${udp}`, `turn:${name}:${udp}?transport=udp`, `turn:${name}:${udp}?transport=tcp`];
  if (tlsPort !== 0) urls.push(`turns:${name}:${tlsPort}?transport=tcp`);
  logger.info('built-in TURN listening', { host, port: udp, tlsPort: tlsPort || undefined, relayAddress, realm: turn.realm, urls: urls.join(' ') });
  return { server, urls };
}

function firstPublicIpv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
}
