import { parseArgs } from 'node:util';
import { describeIssues, grantNames, type Grants } from '@parley/protocol';
import { createToken, parseDuration } from '../auth/token.js';
import { configFromEnv, configFromFile, ConfigError, DEV_API_KEY, DEV_API_SECRET, mergeConfig, ServerConfigSchema, type ServerConfigInput } from '../config/config.js';
import { startServer } from '../server.js';
import { coturnConfig } from '../turn/coturn-config.js';

const usage = `Usage: parley <command> [options]

Commands:
  start     Start the server (HTTP, web app, SDK, WebSocket signaling)
            --host H             address to bind (HOST, default 127.0.0.1)
            --port P             port (PORT, default 8080)
            --config FILE        JSON configuration file (PARLEY_CONFIG); see docs/configuration.md
            --tls-cert FILE      certificate (PARLEY_TLS_CERT)
            --tls-key FILE       private key (PARLEY_TLS_KEY)
            --self-signed        generate a self-signed certificate (LAN tests)
            --behind-tls-proxy   plain HTTP off loopback is fine: a TLS-terminating proxy is in front
            --dev / --no-dev     force dev mode (dev token endpoint, dev key) on or off
            --turn-port P        built-in STUN/TURN port, UDP and TCP (PARLEY_TURN_PORT, default 3478)
            --no-turn            do not run the built-in STUN/TURN server (PARLEY_TURN=0)
  turn-config
            Print a coturn turnserver.conf matching this configuration (same secret, realm, ports,
            TLS files, peer allow/deny lists). --config FILE / PARLEY_CONFIG and the PARLEY_* variables apply.
  token     Print an access token
            --room R --identity I [--name N] [--ttl 30s|10m|1h|2d] [--grant canPublish,canSubscribe,...]
            Signs with PARLEY_API_KEY/PARLEY_API_SECRET, or the dev key when they are unset.
            Default grants: canPublish, canSubscribe, canPublishData. Grants: ${grantNames.join(', ')}
  help      Show this help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'token':
      return token(rest);
    case 'turn-config':
      return turnConfig(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return 0;
    default:
      process.stderr.write(`parley: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      config: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'self-signed': { type: 'boolean' },
      'behind-tls-proxy': { type: 'boolean' },
      dev: { type: 'boolean' },
      'no-dev': { type: 'boolean' },
      'turn-port': { type: 'string' },
      'no-turn': { type: 'boolean' },
    },
  });
  const flags: Record<string, unknown> = {};
  if (values.host !== undefined) flags.host = values.host;
  if (values.port !== undefined) flags.port = values.port;
  if (values['behind-tls-proxy']) flags.behindTlsProxy = true;
  if (values.dev) flags.dev = true;
  if (values['no-dev']) flags.dev = false;
  const tls: Record<string, unknown> = {};
  if (values['tls-cert'] !== undefined) tls.certFile = values['tls-cert'];
  if (values['tls-key'] !== undefined) tls.keyFile = values['tls-key'];
  if (values['self-signed']) tls.selfSigned = true;
  if (Object.keys(tls).length > 0) flags.tls = tls;
  const turn: Record<string, unknown> = {};
  if (values['turn-port'] !== undefined) turn.port = values['turn-port'];
  if (values['no-turn']) turn.enabled = false;
  if (Object.keys(turn).length > 0) flags.turn = turn;

  const configPath = values.config ?? process.env.PARLEY_CONFIG;
  const fromFile = configPath ? configFromFile(configPath) : {};
  const input = mergeConfig(fromFile, configFromEnv(process.env), flags as ServerConfigInput);
  // The SFU's workers start with the server, not with the first SFU room: that room's joins
  // would wait for them (see `sfu.startAtBoot`).
  const server = await startServer(mergeConfig({ sfu: { startAtBoot: input.rooms?.topology !== 'p2p' } }, input));
  // A bug in one request must not end every call on this server: log it and carry on.
  process.on('unhandledRejection', (reason) => process.stderr.write(`parley: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`));
  process.stdout.write(`Parley is running: open ${server.url}/\n`);
  const stop = () => {
    process.stdout.write('Parley is shutting down\n');
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  // SIGTERM (systemd, a deploy): first move the participants to other nodes, for up to
  // cluster.drainSeconds; SIGINT (Ctrl-C) or a second signal: stop now.
  const drainThenStop = () => {
    const seconds = server.config.cluster.drainSeconds;
    if (seconds === 0) return stop();
    process.stdout.write(`Parley is draining: moving its participants to other nodes (up to ${seconds} s)\n`);
    process.once('SIGTERM', stop);
    void server.drain(seconds * 1000).then(stop, stop);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', drainThenStop);
  return new Promise<number>(() => {});
}

async function token(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      room: { type: 'string' },
      identity: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      grant: { type: 'string', multiple: true },
    },
  });
  if (values.room === undefined || values.identity === undefined) throw new UsageError('token needs --room and --identity');
  const apiKey = process.env.PARLEY_API_KEY;
  const apiSecret = process.env.PARLEY_API_SECRET;
  if ((apiKey === undefined) !== (apiSecret === undefined)) throw new UsageError('PARLEY_API_KEY and PARLEY_API_SECRET go together');
  if (apiKey === undefined) process.stderr.write('parley: PARLEY_API_KEY/PARLEY_API_SECRET unset: signing with the dev key (accepted by dev-mode servers only)\n');
  const grants = values.grant === undefined ? undefined : parseGrants(values.grant);
  const jwt = await createToken({
    apiKey: apiKey ?? DEV_API_KEY,
    apiSecret: apiSecret ?? DEV_API_SECRET,
    room: values.room,
    identity: values.identity,
    ttlSeconds: parseDuration(values.ttl),
    ...(values.name === undefined ? {} : { name: values.name }),
    ...(grants === undefined ? {} : { grants }),
  });
  process.stdout.write(`${jwt}\n`);
  return 0;
}

async function turnConfig(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { config: { type: 'string' } } });
  const configPath = values.config ?? process.env.PARLEY_CONFIG;
  const parsed = ServerConfigSchema.safeParse(mergeConfig(configPath ? configFromFile(configPath) : {}, configFromEnv(process.env)));
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error)}`);
  if (parsed.data.ice.turnSecret === undefined) {
    process.stderr.write('parley: no TURN secret configured: the file has a placeholder; set PARLEY_TURN_SECRET and use the same value in static-auth-secret\n');
  }
  process.stdout.write(coturnConfig(parsed.data));
  return 0;
}

/** `--grant a,b --grant c` grants exactly a, b and c. */
function parseGrants(lists: string[]): Grants {
  const named = lists.flatMap((list) => list.split(',')).map((name) => name.trim()).filter(Boolean);
  const unknown = named.filter((name) => !(grantNames as string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown grant ${unknown.join(', ')}: grants are ${grantNames.join(', ')}`);
  return Object.fromEntries(grantNames.map((name) => [name, named.includes(name)])) as Grants;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof UsageError || error instanceof RangeError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`parley: ${known ? (error as Error).message : (error as Error).stack ?? String(error)}\n`);
    if ((error as { code?: string }).code === 'EADDRINUSE') process.stderr.write('parley: the port is in use: pick another with --port or PORT\n');
    process.exit(known ? 2 : 1);
  },
);
