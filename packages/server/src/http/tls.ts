import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { generate } from 'selfsigned';
import { ConfigError, type ServerConfig } from '../config/config.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of a generated certificate, to compare with what the browser shows. */
  fingerprint?: string;
}

/**
 * The certificate to serve with, if TLS is on: from files, or generated for LAN tests. A
 * generated one names `localhost`, `host`, this host's addresses and `extraNames` (the TURN
 * server's public host name, which `turns:` URLs carry).
 */
export async function loadTls(tls: ServerConfig['tls'], host: string, extraNames: readonly string[] = []): Promise<TlsMaterial | undefined> {
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    try {
      return { cert: await readFile(tls.certFile, 'utf8'), key: await readFile(tls.keyFile, 'utf8') };
    } catch (error) {
      throw new ConfigError(`cannot read TLS certificate or key: ${(error as Error).message}`);
    }
  }
  if (!tls.selfSigned) return undefined;
  const names = new Set(['localhost', host, ...localAddresses(), ...extraNames]);
  const altNames = [...names].map((name) => (isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name }));
  const generated = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: generated.cert, key: generated.private, fingerprint: generated.fingerprint };
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal)
    .map((entry) => entry.address);
}
