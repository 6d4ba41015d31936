// Why this file is ~430 lines: every setting of the server in one schema, with the environment
// variables mapped onto it, so an operator (and docs/configuration.md) finds each option, its
// default and its rule in one place.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues, DEFAULT_MAX_MESSAGE_BYTES, VideoCodec } from '@parley/protocol';
import { parseCidr } from '../turn/peer-policy.js';
import { isLoopbackHost } from './hosts.js';

/**
 * Well-known dev credentials, accepted only while dev mode is on, so that `npx parley token`
 * works against `npm start` out of the box. Never valid on a production configuration.
 */
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'parley-dev-secret-not-for-production-use';

const Port = z.coerce.number().int().min(0).max(65535);
const Count = z.coerce.number().int().positive();
/** One size, frame rate and bitrate of the MCU grid (`mcu.videoTiers`). */
const VideoTier = z
  .object({
    width: z.coerce.number().int().min(160).max(1920).multipleOf(2),
    height: z.coerce.number().int().min(90).max(1080).multipleOf(2),
    fps: z.coerce.number().int().min(5).max(30),
    bitrateKbps: z.coerce.number().int().min(100).max(8_000),
  })
  .strict();
/**
 * The grid's tiers by default: 640x360@15 (the grid before tiers), 960x540@20 and the design's
 * 1280x720@30. One encode of each costs ~4, ~13 and ~21 % of a core here (`bench:mcu:tiers`, BENCHMARKS.md).
 */
export const DEFAULT_VIDEO_TIERS = [
  { width: 640, height: 360, fps: 15, bitrateKbps: 600 },
  { width: 960, height: 540, fps: 20, bitrateKbps: 1_200 },
  { width: 1280, height: 720, fps: 30, bitrateKbps: 2_500 },
] as const;

/** `640x360@15:600,...` (PARLEY_MCU_VIDEO_TIERS) as tiers; anything else is left for the schema to refuse. */
export function parseVideoTiers(value: string): unknown {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^(\d+)x(\d+)@(\d+):(\d+)$/.exec(item);
      if (!match) throw new ConfigError(`PARLEY_MCU_VIDEO_TIERS: ${JSON.stringify(item)} is not WIDTHxHEIGHT@FPS:KBPS`);
      return { width: match[1], height: match[2], fps: match[3], bitrateKbps: match[4] };
    });
}
const Rate = z.coerce.number().positive();
const Cidr = z.string().superRefine((value, ctx) => {
  try {
    parseCidr(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});
const IpAddress = z.union([z.ipv4(), z.ipv6()]);
const TurnUrl = z.string().regex(/^turns?:/, 'TURN URLs start with turn: or turns:');
const RegionName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'region names are 1-64 of A-Z a-z 0-9 . _ -');

export const ServerConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: Port.default(8080),
    /** The operator states that a TLS-terminating proxy is in front: plain HTTP off loopback is then allowed. */
    behindTlsProxy: z.boolean().default(false),
    /** Dev mode: the dev token endpoint and the dev key. `auto`: on exactly when no key is configured and the host is loopback. */
    dev: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    tls: z
      .object({
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** Generate a self-signed certificate at start-up (LAN tests only: browsers will warn). */
        selfSigned: z.boolean().default(false),
      })
      .strict()
      .default({ selfSigned: false })
      .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), 'tls.certFile and tls.keyFile go together'),
    /** API key -> secret. Tokens are HS256 JWTs whose `iss` names the key. */
    apiKeys: z.record(z.string().min(1).max(128), z.string().min(32, 'API secrets are at least 32 characters')).default({}),
    rooms: z
      .object({
        maxParticipants: Count.default(16),
        /**
         * `auto`: P2P while two participants, SFU from the third; `mcu`: through the SFU, each
         * participant hearing one mix of the others (docs/topologies.md). A token's roomConfig may override it per room.
         */
        topology: z.enum(['p2p', 'sfu', 'mcu', 'auto']).default('auto'),
        /** In `auto`, go back to P2P when an SFU room drops to two participants. */
        p2pWhenTwo: z.boolean().default(false),
        /** SFU video codec preference; each receiver gets one it decodes. */
        videoCodecs: z.array(z.enum(VideoCodec.options)).min(1).default([...VideoCodec.options]),
      })
      .strict()
      .default({ maxParticipants: 16, topology: 'auto', p2pWhenTwo: false, videoCodecs: [...VideoCodec.options] }),
    /** The server's mix (`mcu` rooms and `receive: 'mixed'` participants, docs/topologies.md). */
    mcu: z
      .object({
        /** Mix video into one grid per receiver too (ffmpeg decodes and encodes it); false: audio only, video forwarded per publisher. */
        video: z.boolean().default(true),
        /**
         * What a grid is encoded at, lowest first; each receiver's SFU worker picks the tier its
         * downlink estimate carries. An encode costs CPU per tier in use (BENCHMARKS.md).
         */
        videoTiers: z.array(VideoTier).min(1).max(4).default(DEFAULT_VIDEO_TIERS.map((tier) => ({ ...tier }))),
        /** The lowest tier's bitrate, overriding `videoTiers[0].bitrateKbps` (the grid's one bitrate before tiers). */
        videoBitrateKbps: z.coerce.number().int().min(100).max(8_000).optional(),
        /** Grids a room's mixer encodes at most (one per participant in the picture, one shared by the audience); past it, participants share the grid of everyone. */
        maxGrids: z.coerce.number().int().min(1).max(64).default(8),
      })
      .strict()
      .prefault({}),
    sfu: z
      .object({
        /** Worker processes (a room lives on one); default: one per core. */
        workers: Count.max(64).optional(),
        /** Every media connection of worker i shares UDP port udpPort + i (ICE UDP mux). */
        udpPort: Port.default(7882),
        /** Instead of the shared port, one port per connection from this range (set udpMux false). */
        udpMux: z.boolean().default(true),
        portRange: z
          .object({ min: Port, max: Port })
          .strict()
          .refine((range) => range.min > 0 && range.min <= range.max, 'sfu.portRange needs 0 < min <= max')
          .optional(),
        /** Address media sockets bind to; default: the server's host (all interfaces for 0.0.0.0 or ::). */
        bindAddress: z.string().min(1).optional(),
        /** Public address put in SDP when the server sits behind 1:1 NAT (the `announcedIp` of other SFUs). */
        announcedAddress: z.string().min(1).optional(),
        /**
         * Start the worker processes when the node starts rather than with its first SFU room,
         * whose joins otherwise wait for them (0.5-2.1 s on 2 cores, measured in `bench:join`).
         * Default: yes on a media node of a cluster (a room failing over to it must not wait)
         * and for `parley start` unless rooms are P2P only; no for an embedded `startServer`
         * (test servers that never use the SFU do not pay for its processes). Never on a node
         * without the media role. A cluster's media node registers once they run, so it is
         * given no room it cannot host yet.
         */
        startAtBoot: z.boolean().optional(),
        /**
         * How long signaling waits for a worker's answer before telling the client INTERNAL ("did
         * not answer"): a worker stopped or stuck this long is treated as gone for that request.
         */
        requestTimeoutMs: Count.max(120_000).default(10_000),
      })
      .strict()
      .default({ udpPort: 7882, udpMux: true, requestTimeoutMs: 10_000 })
      .refine((sfu) => sfu.udpMux || sfu.portRange !== undefined, 'sfu.udpMux false needs sfu.portRange'),
    limits: z
      .object({
        maxMessageBytes: Count.default(DEFAULT_MAX_MESSAGE_BYTES),
        messagesPerSecond: Rate.default(50),
        messageBurst: Count.default(200),
        /** Refused messages tolerated (refilling at 1/s) before a flooding connection is closed with 1008. */
        floodStrikes: Count.default(20),
        connectionsPerIpPerMinute: Rate.default(120),
        connectionBurstPerIp: Count.default(60),
        maxConnectionsPerIp: Count.default(64),
        devTokensPerIpPerMinute: Rate.default(120),
        /** Requests to /api/network-test/* per IP (one pre-call test makes about 20). */
        networkTestsPerIpPerMinute: Rate.default(120),
        /**
         * `publishTrack` and `resubscribe` per connection: each makes the SFU set up a new
         * PeerConnection (ICE, DTLS), far dearer than a message. A join publishes two or three.
         */
        mediaOperationsPerSecond: Rate.default(1),
        mediaOperationBurst: Count.default(10),
      })
      .strict()
      .default({
        maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
        messagesPerSecond: 50,
        messageBurst: 200,
        floodStrikes: 20,
        connectionsPerIpPerMinute: 120,
        connectionBurstPerIp: 60,
        maxConnectionsPerIp: 64,
        devTokensPerIpPerMinute: 120,
        networkTestsPerIpPerMinute: 120,
        mediaOperationsPerSecond: 1,
        mediaOperationBurst: 10,
      }),
    ice: z
      .object({
        stunUrls: z.array(z.string().regex(/^stuns?:/, 'STUN URLs start with stun: or stuns:')).default([]),
        turnUrls: z.array(TurnUrl).default([]),
        /** coturn `static-auth-secret`: TURN credentials are derived from it (REST API scheme). */
        turnSecret: z.string().min(16).optional(),
        turnCredentialTtlSeconds: Count.default(24 * 3600),
        /** External TURN servers by region (2+ per region for redundancy); a participant gets one region's servers. */
        regions: z.record(RegionName, z.array(z.object({ urls: z.array(TurnUrl).min(1) }).strict()).min(1)).default({}),
        /** The region for participants that give no (known) region hint; the first region when unset. */
        defaultRegion: RegionName.optional(),
      })
      .strict()
      .default({ stunUrls: [], turnUrls: [], turnCredentialTtlSeconds: 24 * 3600, regions: {} })
      .refine((ice) => ice.turnUrls.length === 0 || ice.turnSecret !== undefined, 'ice.turnUrls need ice.turnSecret')
      .refine((ice) => Object.keys(ice.regions).length === 0 || ice.turnSecret !== undefined, 'ice.regions need ice.turnSecret')
      .refine((ice) => ice.defaultRegion === undefined || Object.hasOwn(ice.regions, ice.defaultRegion), 'ice.defaultRegion must name one of ice.regions'),
    /** The built-in STUN/TURN server (see docs/configuration.md). */
    turn: z
      .object({
        enabled: z.boolean().default(true),
        /** Listening address for UDP/TCP/TLS; the server's `host` when unset. */
        host: z.string().min(1).optional(),
        port: Port.default(3478),
        /** TURN over TLS (`turns:`), only when a certificate is configured (`tls`); 443 works too. */
        tlsPort: Port.default(5349),
        /** Relay sockets bind here (IPv4); by default the listening address, or the host's first public IPv4. */
        relayAddress: z.ipv4().optional(),
        relayAddressIpv6: z.ipv6().optional(),
        /** The public address of the relay behind a 1:1 NAT (coturn's external-ip). */
        externalAddress: IpAddress.optional(),
        /** Host name or address participants are told to reach this server at. */
        publicHost: z.string().min(1).optional(),
        relayPortMin: Port.default(49152),
        relayPortMax: Port.default(65535),
        realm: z.string().min(1).max(128).default('parley'),
        /** Peers reachable despite the default deny (loopback, private, link-local, ...), as CIDRs. */
        allowedPeers: z.array(Cidr).default([]),
        /** Peers never reachable, as CIDRs: wins over allowedPeers. */
        deniedPeers: z.array(Cidr).default([]),
        maxAllocations: Count.default(1000),
        /**
         * Per identity. A browser allocates on each TURN URL it gets (UDP, TCP, TLS: 3) for each
         * connection (an SFU participant has 2; the P2P link during an `auto` move 1 more): 9 at
         * once. A tab that crashed leaves its allocations until their lifetime ends (10 min), so
         * rejoining needs room for two sessions (18), and a second device for as many again.
         */
        maxAllocationsPerUser: Count.default(30),
        /** Relayed bytes per second per allocation (both directions); excess packets are dropped. 0 = unlimited. */
        bytesPerSecond: z.coerce.number().int().min(0).default(5_000_000),
      })
      .strict()
      .prefault({})
      .refine((turn) => turn.relayPortMin <= turn.relayPortMax, 'turn.relayPortMin must not exceed turn.relayPortMax'),
    /** Seconds a dead WebSocket (no pong) is kept before its participant is dropped. */
    heartbeatSeconds: Count.default(15),
    /** Seconds a participant whose connection dropped stays in the room, resumable, before it leaves (0: leave at once). */
    reconnectGraceSeconds: z.coerce.number().int().min(0).max(600).default(20),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** JSON lines (for collectors), pretty (for a terminal), or auto: pretty when stderr is a terminal. */
    logFormat: z.enum(['json', 'pretty', 'auto']).default('auto'),
    /** This node's name in logs and metrics; a random `nd_` id per start unless set. */
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'nodeId is 1-64 letters, digits, dots, dashes or underscores')
      .default(() => `nd_${randomBytes(6).toString('hex')}`),
    /**
     * GET /metrics (Prometheus). With a token it needs `Authorization: Bearer <token>`; without
     * one it answers only requests from this machine's loopback that no proxy forwarded.
     */
    metrics: z.object({ token: z.string().min(16, 'the metrics token is at least 16 characters').optional() }).strict().default({}),
    /** Several nodes sharing one Redis (docs/cluster.md); without redisUrl, one process and no Redis. */
    cluster: z
      .object({
        /** redis:// or rediss:// (TLS), with the password in it if Redis needs one (never logged). */
        redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'the Redis URL starts with redis:// or rediss://').optional(),
        /** What this node does: signaling (WebSockets, rooms), media (an SFU), or both. */
        roles: z.array(z.enum(['signaling', 'media'])).min(1).default(['signaling', 'media']),
        heartbeatMs: z.coerce.number().int().min(100).max(60_000).default(1000),
        /** A node silent this long is gone: its rooms are placed again on a live node. */
        nodeTtlMs: z.coerce.number().int().min(300).max(300_000).default(5000),
        /** How other nodes and clients reach this node's signaling, when it is not the listening URL (a proxy, a public name). */
        advertiseUrl: z.url({ protocol: /^https?$/ }).optional(),
        /** On SIGTERM: seconds to move this node's participants to other nodes before closing (0: close at once). */
        drainSeconds: z.coerce.number().int().min(0).max(86_400).default(0),
        keyPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,32}$/, 'the key prefix is 1-32 of A-Z a-z 0-9 : _ -').default('parley:'),
      })
      .strict()
      .prefault({})
      .refine((cluster) => cluster.nodeTtlMs >= 2 * cluster.heartbeatMs, 'cluster.nodeTtlMs must be at least twice cluster.heartbeatMs (one lost heartbeat must not expire a node)')
      .refine((cluster) => cluster.redisUrl !== undefined || cluster.roles.includes('media'), 'a node without cluster.redisUrl is the whole cluster: its cluster.roles must include media'),
    /** Browser recordings (docs/recording.md): where they are kept and the upload limits. */
    recording: z
      .object({
        /** Local directory of recordings and uploads in progress (created at the first upload). */
        directory: z.string().min(1).default('parley-recordings'),
        /** Finished recordings older than this are deleted (0: kept until deleted). */
        retentionDays: z.coerce.number().min(0).default(30),
        /** Largest body of one upload request (PATCH). */
        maxChunkBytes: Count.default(16 * 1024 * 1024),
        /** Bytes one identity may keep (uploads in progress and recordings), over every room. */
        quotaBytesPerUser: Count.default(2 * 1024 ** 3),
        /** Bytes the whole server may keep. */
        quotaBytesPerServer: Count.default(50 * 1024 ** 3),
        /** An upload that receives nothing for this long (its browser closed) is finished with what it has. */
        idleFinishSeconds: z.coerce.number().positive().default(60),
        /** The ffmpeg and ffprobe executables (Debian's `ffmpeg` package). */
        ffmpegPath: z.string().min(1).default('ffmpeg'),
        ffprobePath: z.string().min(1).default('ffprobe'),
      })
      .strict()
      .prefault({}),
    /** Signed POSTs of room events (docs/webhooks.md). */
    webhooks: z
      .object({
        urls: z.array(z.url({ protocol: /^https?$/ })).max(16).default([]),
        /** HMAC-SHA256 key of the Parley-Signature header; required with urls. */
        secret: z.string().min(32, 'the webhook secret is at least 32 characters').optional(),
      })
      .strict()
      .default({ urls: [] })
      .refine((webhooks) => webhooks.urls.length === 0 || webhooks.secret !== undefined, 'webhooks.urls needs webhooks.secret (PARLEY_WEBHOOK_SECRET) to sign with'),
  })
  .strict();

export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
export type ServerConfig = z.output<typeof ServerConfigSchema> & { devMode: boolean };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a configuration and applies the rules that span fields (TLS off loopback, dev mode). */
export function resolveConfig(input: ServerConfigInput): ServerConfig {
  const parsed = ServerConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error)}`);
  const config = parsed.data;
  const loopback = isLoopbackHost(config.host);
  const tlsOn = config.tls.certFile !== undefined || config.tls.selfSigned;
  if (!loopback && !tlsOn && !config.behindTlsProxy) {
    throw new ConfigError(
      `refusing to serve plain HTTP on ${config.host}: media and tokens would cross the network unencrypted. ` +
        'Give --tls-cert/--tls-key (PARLEY_TLS_CERT/PARLEY_TLS_KEY), use --self-signed for LAN tests, ' +
        'or state --behind-tls-proxy (PARLEY_BEHIND_TLS_PROXY=1) when a TLS-terminating proxy is in front.',
    );
  }
  const hasKeys = Object.keys(config.apiKeys).length > 0;
  const devMode = config.dev === 'auto' ? !hasKeys && loopback : config.dev;
  const [lowest, ...higher] = config.mcu.videoTiers;
  const videoTiers = config.mcu.videoBitrateKbps === undefined ? config.mcu.videoTiers : [{ ...lowest!, bitrateKbps: config.mcu.videoBitrateKbps }, ...higher];
  for (let i = 1; i < videoTiers.length; i++) {
    // The SFU worker climbs tiers by bitrate: a tier that costs no more than the one below would never be left.
    if (videoTiers[i]!.bitrateKbps <= videoTiers[i - 1]!.bitrateKbps) throw new ConfigError(`mcu.videoTiers: each tier needs a higher bitrate than the one before (tier ${i}: ${videoTiers[i]!.bitrateKbps} kbit/s after ${videoTiers[i - 1]!.bitrateKbps})`);
  }
  if (!devMode && !hasKeys) {
    throw new ConfigError(
      'no API key configured: set PARLEY_API_KEY and PARLEY_API_SECRET (a secret of 32+ characters), ' +
        'or start with --dev for a development server.',
    );
  }
  const apiKeys = devMode ? { ...config.apiKeys, [DEV_API_KEY]: DEV_API_SECRET } : config.apiKeys;
  return { ...config, mcu: { ...config.mcu, videoTiers }, apiKeys, devMode };
}

/** Environment variables, as documented in docs/configuration.md. */
export function configFromEnv(env: NodeJS.ProcessEnv): ServerConfigInput {
  const input: Record<string, unknown> = {};
  const set = (path: string[], value: unknown) => {
    let node = input;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]!] = value;
  };
  const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);
  const flag = (name: string, value: string) => {
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    throw new ConfigError(`${name} must be true or false, not ${JSON.stringify(value)}`);
  };
  const table: Array<[string, string[], (value: string, name: string) => unknown]> = [
    ['HOST', ['host'], String],
    ['PORT', ['port'], String],
    ['PARLEY_BEHIND_TLS_PROXY', ['behindTlsProxy'], (v, n) => flag(n, v)],
    ['PARLEY_DEV', ['dev'], (v, n) => (v === 'auto' ? 'auto' : flag(n, v))],
    ['PARLEY_TLS_CERT', ['tls', 'certFile'], String],
    ['PARLEY_TLS_KEY', ['tls', 'keyFile'], String],
    ['PARLEY_SELF_SIGNED', ['tls', 'selfSigned'], (v, n) => flag(n, v)],
    ['PARLEY_MAX_PARTICIPANTS', ['rooms', 'maxParticipants'], String],
    ['PARLEY_TOPOLOGY', ['rooms', 'topology'], String],
    ['PARLEY_VIDEO_CODECS', ['rooms', 'videoCodecs'], list],
    ['PARLEY_MCU_VIDEO', ['mcu', 'video'], (v, n) => flag(n, v)],
    ['PARLEY_MCU_MAX_GRIDS', ['mcu', 'maxGrids'], String],
    ['PARLEY_MCU_VIDEO_TIERS', ['mcu', 'videoTiers'], parseVideoTiers],
    ['PARLEY_SFU_WORKERS', ['sfu', 'workers'], String],
    ['PARLEY_SFU_UDP_PORT', ['sfu', 'udpPort'], String],
    ['PARLEY_SFU_BIND_ADDRESS', ['sfu', 'bindAddress'], String],
    ['PARLEY_SFU_ANNOUNCED_ADDRESS', ['sfu', 'announcedAddress'], String],
    ['PARLEY_SFU_START_AT_BOOT', ['sfu', 'startAtBoot'], (v, n) => flag(n, v)],
    ['PARLEY_SFU_REQUEST_TIMEOUT_MS', ['sfu', 'requestTimeoutMs'], String],
    ['PARLEY_STUN_URLS', ['ice', 'stunUrls'], list],
    ['PARLEY_TURN_URLS', ['ice', 'turnUrls'], list],
    ['PARLEY_TURN_SECRET', ['ice', 'turnSecret'], String],
    ['PARLEY_TURN_TTL', ['ice', 'turnCredentialTtlSeconds'], String],
    ['PARLEY_TURN_REGION', ['ice', 'defaultRegion'], String],
    ['PARLEY_TURN', ['turn', 'enabled'], (v, n) => flag(n, v)],
    ['PARLEY_TURN_HOST', ['turn', 'host'], String],
    ['PARLEY_TURN_PORT', ['turn', 'port'], String],
    ['PARLEY_TURN_TLS_PORT', ['turn', 'tlsPort'], String],
    ['PARLEY_TURN_RELAY_ADDRESS', ['turn', 'relayAddress'], String],
    ['PARLEY_TURN_RELAY_ADDRESS_IPV6', ['turn', 'relayAddressIpv6'], String],
    ['PARLEY_TURN_EXTERNAL_ADDRESS', ['turn', 'externalAddress'], String],
    ['PARLEY_TURN_PUBLIC_HOST', ['turn', 'publicHost'], String],
    ['PARLEY_TURN_REALM', ['turn', 'realm'], String],
    ['PARLEY_TURN_ALLOWED_PEERS', ['turn', 'allowedPeers'], list],
    ['PARLEY_TURN_DENIED_PEERS', ['turn', 'deniedPeers'], list],
    ['PARLEY_LOG_LEVEL', ['logLevel'], String],
    ['PARLEY_LOG_FORMAT', ['logFormat'], String],
    ['PARLEY_NODE_ID', ['nodeId'], String],
    ['PARLEY_METRICS_TOKEN', ['metrics', 'token'], String],
    ['PARLEY_REDIS_URL', ['cluster', 'redisUrl'], String],
    ['PARLEY_NODE_ROLES', ['cluster', 'roles'], list],
    ['PARLEY_ADVERTISE_URL', ['cluster', 'advertiseUrl'], String],
    ['PARLEY_DRAIN_SECONDS', ['cluster', 'drainSeconds'], String],
    ['PARLEY_WEBHOOK_URLS', ['webhooks', 'urls'], list],
    ['PARLEY_WEBHOOK_SECRET', ['webhooks', 'secret'], String],
    ['PARLEY_RECORDING_DIR', ['recording', 'directory'], String],
    ['PARLEY_RECORDING_RETENTION_DAYS', ['recording', 'retentionDays'], String],
    ['PARLEY_RECORDING_MAX_CHUNK_BYTES', ['recording', 'maxChunkBytes'], String],
    ['PARLEY_RECORDING_QUOTA_USER_BYTES', ['recording', 'quotaBytesPerUser'], String],
    ['PARLEY_RECORDING_QUOTA_SERVER_BYTES', ['recording', 'quotaBytesPerServer'], String],
    ['PARLEY_RECORDING_IDLE_FINISH_SECONDS', ['recording', 'idleFinishSeconds'], String],
  ];
  for (const [name, path, convert] of table) {
    const value = env[name];
    if (value !== undefined && value !== '') set(path, convert(value, name));
  }
  const relayPorts = env.PARLEY_TURN_RELAY_PORTS;
  if (relayPorts !== undefined && relayPorts !== '') {
    const range = /^(\d+)-(\d+)$/.exec(relayPorts.trim());
    if (!range) throw new ConfigError(`PARLEY_TURN_RELAY_PORTS must look like 49152-65535, not ${JSON.stringify(relayPorts)}`);
    set(['turn', 'relayPortMin'], range[1]);
    set(['turn', 'relayPortMax'], range[2]);
  }
  const key = env.PARLEY_API_KEY;
  const secret = env.PARLEY_API_SECRET;
  if ((key === undefined) !== (secret === undefined)) throw new ConfigError('PARLEY_API_KEY and PARLEY_API_SECRET go together');
  if (key !== undefined && secret !== undefined) input.apiKeys = { [key]: secret };
  return input as ServerConfigInput;
}

export function configFromFile(path: string): ServerConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as ServerConfigInput;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Later sources win, field by field (file < environment < command line). Keys become own
 * properties (Object.fromEntries), so a `__proto__` key in a config file is an unknown field for
 * the strict schema, never the prototype of the merged object.
 */
export function mergeConfig(...sources: ServerConfigInput[]): ServerConfigInput {
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return Object.fromEntries(
      [...keys].map((key) => {
        if (!Object.hasOwn(b, key)) return [key, a[key]];
        const [previous, value] = [Object.hasOwn(a, key) ? a[key] : undefined, b[key]];
        return [key, isPlainObject(previous) && isPlainObject(value) && key !== 'apiKeys' ? merge(previous, value) : value];
      }),
    );
  };
  return sources.reduce<Record<string, unknown>>((acc, source) => merge(acc, source as Record<string, unknown>), {}) as ServerConfigInput;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What is safe to log: everything but secrets. */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  return {
    host: config.host,
    port: config.port,
    tls: config.tls.certFile !== undefined ? 'certificate' : config.tls.selfSigned ? 'self-signed' : config.behindTlsProxy ? 'proxy' : 'off',
    devMode: config.devMode,
    apiKeys: Object.keys(config.apiKeys).join(','),
    maxParticipants: config.rooms.maxParticipants,
    topology: config.rooms.topology,
    sfuUdpPort: config.sfu.udpMux ? config.sfu.udpPort : `${config.sfu.portRange?.min}-${config.sfu.portRange?.max}`,
    stun: config.ice.stunUrls.length,
    turn: config.ice.turnUrls.length,
    turnRegions: Object.keys(config.ice.regions).join(','),
    builtInTurn: config.turn.enabled ? `${config.turn.host ?? config.host}:${config.turn.port}` : 'off',
    turnAllowedPeers: config.turn.allowedPeers.join(','),
    turnDeniedPeers: config.turn.deniedPeers.join(','),
    metrics: config.metrics.token === undefined ? 'loopback only' : 'bearer token',
    webhooks: config.webhooks.urls.length,
    cluster: config.cluster.redisUrl === undefined ? 'one process' : `redis (${config.cluster.roles.join('+')})`,
  };
}
