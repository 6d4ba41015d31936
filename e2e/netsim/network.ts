// Why this file is ~460 lines: one Network and the commands that make, shape and remove it; the
// forwarders it starts are tcp-proxy.ts and udp-relay.ts, the NATs nat.ts.
/**
 * Simulated networks for e2e tests: each `Network` is a network namespace joined to the host by a
 * veth pair, with its own /30 from 10.99.0.0/16 (host end .1, namespace end .2 of the block) and
 * a default route via the host end, so a browser started inside it (see `networkNamespace` in
 * e2e/harness/browsers.ts) reaches servers on the host's veth address and gathers ICE candidates.
 *
 * The link can be shaped at run time (`shape`, `applyProfile`, `outage`). This kernel has no
 * netem, so each impairment uses what exists:
 * - rate: tc tbf on both veth ends (each end's egress is one direction);
 * - loss and outages: nftables on the RECEIVER's ingress (netdev hook) of each direction, with
 *   `numgen random` (dropping on the sender's side fails sendmsg(), and browsers just resend);
 * - round-trip time: userspace, in the TCP proxies and UDP relays this network starts on its
 *   host address (`exposeTcp`, `relayUdp`), which delay every chunk or datagram by half of it.
 *
 * Everything is named after the owning process (namespace `parley-netsim-<pid>-<n>`, host
 * interface `pnsim<n>` with that name as its alias, nftables tables `parley_netsim_<pid>_<n>`).
 * `close()` removes it all, an exit hook does so synchronously if the process ends without it, and
 * the first `createNetwork()` of a process removes what dead processes left behind.
 * Needs root, iproute2 and nftables.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ipCommand } from '../harness/namespace-launch.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { UdpRelay } from './udp-relay.ts';

/** What the link does to traffic, in both directions. An empty shape is a clean link. */
export interface LinkShape {
  /** Rate cap in kbit/s (tc tbf). */
  rateKbit?: number;
  /** Random loss in percent, 0.1 steps (nftables numgen). */
  lossPercent?: number;
  /** Round-trip time added by this network's TCP proxies and UDP relays (half in each direction). */
  rttMs?: number;
  /** Every IPv4 packet dropped: the link is down. */
  blocked?: boolean;
  /**
   * Rate, loss and blocking act on this direction only (`upload`: from the namespace to the
   * host; `download`: the other way); the other direction stays clean. Default: both. `rttMs`
   * is a round trip, added both ways whatever this says.
   */
  direction?: 'upload' | 'download';
}

export const PROFILES = {
  /** A poor mobile link. */
  'slow-3g': { rateKbit: 400, rttMs: 400, lossPercent: 2 },
  lossy: { lossPercent: 7 },
  /** Blocked until another profile is applied; `outage(ms)` blocks for a while and restores. */
  outage: { blocked: true },
  clear: {},
} as const satisfies Record<string, LinkShape>;

export type ProfileName = keyof typeof PROFILES;

export const NAMESPACE_PREFIX = 'parley-netsim-';
const INTERFACE_PREFIX = 'pnsim';
const TABLE_PREFIX = 'parley_netsim_';
/** The namespace end is always called eth0: that is what a browser expects to find. */
const INNER_INTERFACE = 'eth0';
/** The table inside a namespace goes with the namespace, so it needs no unique name. */
const INNER_TABLE = 'parley_netsim';
const FIREWALL_CHAIN = 'firewall';
/**
 * A namespace that belongs to a network, behind it (e.g. the LAN behind a NAT, see nat.ts): named
 * after the network's namespace with this suffix, and removed with it.
 */
export const LAN_SUFFIX = '-lan';
const MAX_BLOCKS = 16384; // /30 blocks in 10.99.0.0/16
const COMMAND_TIMEOUT_MS = 10_000;
const TBF_LATENCY_MS = 300;

export class Network {
  /** The current shape (what `shape()` last applied). */
  current: LinkShape = {};
  private readonly relays = new Set<TcpProxy | UdpRelay>();
  private readonly children = new Set<ChildProcess>();
  private closed = false;

  /** e.g. `parley-netsim-4242-0` */
  readonly namespace: string;
  /** The host end of the veth pair, e.g. `pnsim0`. */
  readonly hostInterface: string;
  /** The host's address on this link: what the namespace reaches the host at. */
  readonly hostAddress: string;
  /** The namespace's address (on its `eth0`). */
  readonly address: string;
  /** The host's nftables tables for this link (netdev: loss at ingress; inet: the forwarding guard). */
  readonly nftTable: string;

  constructor(names: Pick<Network, 'namespace' | 'hostInterface' | 'hostAddress' | 'address' | 'nftTable'>) {
    ({ namespace: this.namespace, hostInterface: this.hostInterface, hostAddress: this.hostAddress, address: this.address, nftTable: this.nftTable } = names);
  }

  /** Replaces the link's impairments with `shape` (anything not given is off). */
  async shape(shape: LinkShape): Promise<void> {
    this.assertOpen();
    validateShape(shape);
    await Promise.all([this.setRate(shape.rateKbit, shape.direction), this.setDrops(shape)]);
    for (const relay of this.relays) relay.delayMs = (shape.rttMs ?? 0) / 2;
    this.current = { ...shape };
  }

  applyProfile(name: ProfileName): Promise<void> {
    if (!Object.hasOwn(PROFILES, name)) throw new Error(`unknown network profile ${JSON.stringify(name)}: use ${Object.keys(PROFILES).join(', ')}`);
    return this.shape(PROFILES[name]);
  }

  /** Blocks all traffic for `durationMs`, then puts the previous shape back. */
  async outage(durationMs: number): Promise<void> {
    const previous = this.current;
    await this.shape({ ...previous, blocked: true });
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    if (!this.closed) await this.shape(previous);
  }

  /**
   * A TCP proxy on this network's host address forwarding to `target` (e.g. a Parley server on
   * 127.0.0.1): the browser inside uses `proxy.url`. It adds the shape's round-trip time.
   */
  async exposeTcp(target: { host: string; port: number }): Promise<TcpProxy> {
    this.assertOpen();
    const proxy = await TcpProxy.start({ listen: { host: this.hostAddress }, target, delayMs: (this.current.rttMs ?? 0) / 2 });
    this.relays.add(proxy);
    return proxy;
  }

  /** A UDP relay on this network's host address in front of `target` (a media or TURN port). */
  async relayUdp(target: { host: string; port: number }): Promise<UdpRelay> {
    this.assertOpen();
    const relay = await UdpRelay.start({ listen: { host: this.hostAddress }, target, delayMs: (this.current.rttMs ?? 0) / 2 });
    this.relays.add(relay);
    return relay;
  }

  /** Packets the current loss or outage rule dropped in each direction since the last `shape()`. */
  async droppedPackets(): Promise<{ download: number; upload: number }> {
    this.assertOpen();
    const counted = ({ stdout }: { stdout: string }) => Number(/counter packets (\d+)/.exec(stdout)?.[1] ?? 0);
    const [download, upload] = await Promise.all([this.exec('nft', ['list', 'chain', 'netdev', INNER_TABLE, 'ingress']), run('nft', ['list', 'chain', 'netdev', this.nftTable, 'ingress'])]);
    return { download: counted(download), upload: counted(upload) };
  }

  /**
   * A firewall on the link: only TCP to (and back from) `allowed` on the host side gets through,
   * every other IPv4 packet is dropped silently in both directions (UDP entirely), the way a
   * corporate firewall that lets through HTTPS and a TURN port does. `undefined` lifts it. It
   * sits in its own chains (netdev ingress of both veth ends, ahead of the loss rules), so
   * `shape()` leaves it alone.
   */
  async restrictTo(allowed: ReadonlyArray<{ address: string; port: number }> | undefined): Promise<void> {
    this.assertOpen();
    for (const { address, port } of allowed ?? []) {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`netsim firewall: ${address}:${port} is not an IPv4 address and TCP port`);
    }
    const script = (table: string, device: string, match: (address: string, port: number) => string) =>
      [
        `table netdev ${table} {`,
        `  chain ${FIREWALL_CHAIN} { type filter hook ingress device "${device}" priority -10; policy accept; }`,
        `}`,
        `flush chain netdev ${table} ${FIREWALL_CHAIN}`,
        ...(allowed === undefined
          ? []
          : [...allowed.map(({ address, port }) => `add rule netdev ${table} ${FIREWALL_CHAIN} meta protocol ip ${match(address, port)} accept`), `add rule netdev ${table} ${FIREWALL_CHAIN} meta protocol ip counter drop`]),
      ].join('\n');
    // Upload: what the host end receives from the namespace. Download: what the namespace receives.
    await Promise.all([
      run('nft', ['-f', '-'], { input: script(this.nftTable, this.hostInterface, (address, port) => `ip daddr ${address} tcp dport ${port}`) }),
      this.exec('nft', ['-f', '-'], { input: script(INNER_TABLE, INNER_INTERFACE, (address, port) => `ip saddr ${address} tcp sport ${port}`) }),
    ]);
  }

  /** Packets the `restrictTo` firewall dropped in each direction since it was last set. */
  async firewallDrops(): Promise<{ download: number; upload: number }> {
    this.assertOpen();
    const counted = ({ stdout }: { stdout: string }) => Number(/counter packets (\d+)/.exec(stdout)?.[1] ?? 0);
    const list = (table: string) => ['list', 'chain', 'netdev', table, FIREWALL_CHAIN];
    const [download, upload] = await Promise.all([this.exec('nft', list(INNER_TABLE)).catch(() => ({ stdout: '', stderr: '' })), run('nft', list(this.nftTable)).catch(() => ({ stdout: '', stderr: '' }))]);
    return { download: counted(download), upload: counted(upload) };
  }

  /**
   * Names the namespace resolves, as its own /etc/hosts: `ip netns exec` mounts
   * /etc/netns/<namespace>/hosts over /etc/hosts for what it starts, so set this before launching
   * a browser here (one started before keeps the host's file). Removed with the namespace.
   *
   * The machine's own name is in it, on loopback, as in the host's file: Firefox looks it up as it
   * starts, and without it (DNS then timing out, before `failFastResolver`) a Firefox started here
   * took ~24 s instead of ~3.5 s (measured here).
   */
  setHosts(entries: Record<string, string>): void {
    this.assertOpen();
    const lines = ['127.0.0.1 localhost', `127.0.0.1 ${hostname()}`, '::1 localhost', ...Object.entries(entries).map(([name, address]) => `${address} ${name}`)];
    mkdirSync(`/etc/netns/${this.namespace}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.namespace}/hosts`, `${lines.join('\n')}\n`);
  }

  /** Runs a command inside the namespace; rejects with its output if it fails or times out. */
  exec(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
    this.assertOpen();
    return run(ipCommand(), ['netns', 'exec', this.namespace, command, ...args], options);
  }

  /** Starts a long-running command inside the namespace; `close()` kills it if it is still running. */
  spawn(command: string, args: string[]): ChildProcess {
    this.assertOpen();
    // `ip netns exec` execs the command in place, so the child's PID is the command's.
    const child = spawn(ipCommand(), ['netns', 'exec', this.namespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all([...this.relays].map((relay) => relay.close()));
    this.relays.clear();
    removeNetworkSync(this.namespace, this.hostInterface, this.nftTable);
    owned.delete(this);
  }

  private async setRate(rateKbit: number | undefined, direction: LinkShape['direction']): Promise<void> {
    // Each end's egress is one direction: the host end's is the download, the namespace end's the upload.
    const qdisc = (device: string, verb: 'replace' | 'del', tail: string[] = []) => ['qdisc', verb, 'dev', device, 'root', ...tail];
    const ends = [
      { shaped: direction !== 'upload', tc: (args: string[]) => run('tc', args), device: this.hostInterface },
      { shaped: direction !== 'download', tc: (args: string[]) => run(ipCommand(), ['netns', 'exec', this.namespace, 'tc', ...args]), device: INNER_INTERFACE },
    ];
    await Promise.all(
      ends.map(({ shaped, tc, device }) => {
        // "No such file" when there was no tbf: a clean link is what we want anyway.
        if (rateKbit === undefined || !shaped) return tc(qdisc(device, 'del')).catch(() => {});
        // Burst: 20 ms at the rate, but at least two full frames, or tbf could never send one.
        const burstBytes = Math.max(3028, Math.round((rateKbit * 1000) / 8 / 50));
        return tc(qdisc(device, 'replace', ['tbf', 'rate', `${rateKbit}kbit`, 'burst', String(burstBytes), 'latency', `${TBF_LATENCY_MS}ms`]));
      }),
    );
  }

  private async setDrops(shape: LinkShape): Promise<void> {
    const rule = shape.blocked
      ? 'meta protocol ip counter drop'
      : shape.lossPercent
        ? `meta protocol ip numgen random mod 1000 < ${Math.round(shape.lossPercent * 10)} counter drop`
        : undefined;
    const script = (table: string, applies: boolean) => `flush chain netdev ${table} ingress\n${rule && applies ? `add rule netdev ${table} ingress ${rule}\n` : ''}`;
    // Download direction: the namespace receives. Upload direction: the host end receives.
    await Promise.all([
      run('nft', ['-f', '-'], { input: script(this.nftTable, shape.direction !== 'download') }),
      this.exec('nft', ['-f', '-'], { input: script(INNER_TABLE, shape.direction !== 'upload') }),
    ]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`network ${this.namespace} is closed`);
  }
}

export interface NetworkOptions {
  /** Starts with this shape (default: a clean link). */
  shape?: LinkShape;
}

/** Creates a namespace joined to the host; see the module comment. */
export async function createNetwork(options: NetworkOptions = {}): Promise<Network> {
  checkPrerequisites();
  if (!swept) {
    swept = true;
    sweepStaleNetworks();
  }
  installExitHook();
  const taken = hostIpv4Addresses();
  for (let block = 0; block < MAX_BLOCKS; block++) {
    const [hostAddress, address] = blockAddresses(block);
    if (taken.has(hostAddress) || taken.has(address)) continue;
    const name = `${process.pid}-${block}`;
    const namespace = `${NAMESPACE_PREFIX}${name}`;
    const hostInterface = `${INTERFACE_PREFIX}${block}`;
    if (existsSync(`/sys/class/net/${hostInterface}`)) continue;
    const table = `${TABLE_PREFIX}${name.replace('-', '_')}`;
    await run(ipCommand(), ['netns', 'add', namespace]);
    // The interface name is the lock: if another process took this block meanwhile, creating it fails.
    try {
      await run(ipCommand(), ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', INNER_INTERFACE, 'netns', namespace]);
    } catch (error) {
      removeNetworkSync(namespace, hostInterface, table);
      if (existsSync(`/sys/class/net/${hostInterface}`)) continue;
      throw error;
    }
    const network = new Network({ namespace, hostInterface, hostAddress, address, nftTable: table });
    owned.add(network);
    try {
      await configure(network);
      if (options.shape) await network.shape(options.shape);
    } catch (error) {
      await network.close();
      throw error;
    }
    return network;
  }
  throw new Error('netsim: no free /30 left in 10.99.0.0/16');
}

async function configure(network: Network): Promise<void> {
  const { namespace, hostInterface, hostAddress, address, nftTable: table } = network;
  const ip = ipCommand();
  const inside = (...args: string[]) => run(ip, ['-n', namespace, ...args]);
  await run(ip, ['link', 'set', hostInterface, 'alias', namespace]);
  // IPv4 only: IPv6 link-local addresses would be a second, unshaped path for ICE.
  writeFileSync(`/proc/sys/net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
  // Forward what arrives from this namespace (to the other netsim namespaces: see the guard below).
  writeFileSync(`/proc/sys/net/ipv4/conf/${hostInterface}/forwarding`, '1');
  // One packet per skb (no TSO/GSO super-packets), so loss and tbf act per packet as on a wire.
  await run(ip, ['link', 'set', hostInterface, 'gso_max_segs', '1']);
  await run(ip, ['addr', 'add', `${hostAddress}/30`, 'dev', hostInterface]);
  await run(ip, ['link', 'set', hostInterface, 'up']);
  await network.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await inside('link', 'set', INNER_INTERFACE, 'gso_max_segs', '1');
  await inside('addr', 'add', `${address}/30`, 'dev', INNER_INTERFACE);
  await inside('link', 'set', INNER_INTERFACE, 'up');
  await inside('link', 'set', 'lo', 'up');
  await inside('route', 'add', 'default', 'via', hostAddress);
  failFastResolver(namespace);
  await run('nft', ['-f', '-'], {
    input: [
      `table netdev ${table} {`,
      `  chain ingress { type filter hook ingress device "${hostInterface}" priority 0; policy accept; }`,
      `}`,
      // The guard: traffic from a namespace may be forwarded only to another netsim namespace,
      // never out of the host (it has a private source address and no business there).
      `table inet ${table} {`,
      `  chain forward {`,
      `    type filter hook forward priority 0; policy accept;`,
      `    iifname "${hostInterface}" oifname != "${INTERFACE_PREFIX}*" counter drop`,
      `    oifname "${hostInterface}" iifname != "${INTERFACE_PREFIX}*" counter drop`,
      `  }`,
      `}`,
    ].join('\n'),
  });
  await network.exec('nft', ['-f', '-'], {
    input: `table netdev ${INNER_TABLE} {\n  chain ingress { type filter hook ingress device "${INNER_INTERFACE}" priority 0; policy accept; }\n}\n`,
  });
}

function blockAddresses(block: number): [string, string] {
  const third = Math.floor(block / 64);
  const fourth = (block % 64) * 4;
  return [`10.99.${third}.${fourth + 1}`, `10.99.${third}.${fourth + 2}`];
}

function validateShape(shape: LinkShape): void {
  const check = (name: keyof LinkShape, value: unknown, ok: (n: number) => boolean, rule: string) => {
    if (value !== undefined && !(typeof value === 'number' && ok(value))) throw new Error(`link shape ${name} must be ${rule}, not ${JSON.stringify(value)}`);
  };
  check('rateKbit', shape.rateKbit, (n) => Number.isInteger(n) && n >= 8 && n <= 10_000_000, 'an integer from 8 to 10000000');
  check('lossPercent', shape.lossPercent, (n) => n >= 0 && n <= 100, 'a number from 0 to 100');
  check('rttMs', shape.rttMs, (n) => n >= 0 && n <= 10_000, 'a number of milliseconds from 0 to 10000');
  if (shape.direction !== undefined && shape.direction !== 'upload' && shape.direction !== 'download') {
    throw new Error(`link shape direction must be 'upload' or 'download' (or absent: both), not ${JSON.stringify(shape.direction)}`);
  }
}

// ---------------------------------------------------------------------------
// Cleanup: on close, at exit, and of what dead processes left behind

const owned = new Set<Network>();
let swept = false;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const network of owned) removeNetworkSync(network.namespace, network.hostInterface, network.nftTable);
  });
}

/**
 * DNS inside `namespace` fails at once: its resolv.conf names the namespace's own loopback, where
 * nothing listens. The host's resolver is not reachable from a namespace (the forward guard drops
 * what would leave the host), so without this every lookup waited for its timeouts: a Firefox in a
 * namespace took 5.1 s to close (puppeteer's 5 s wait, then a kill), 0.8 s with this (measured
 * here). Names a test needs go in `setHosts`.
 */
export function failFastResolver(namespace: string): void {
  mkdirSync(`/etc/netns/${namespace}`, { recursive: true });
  writeFileSync(`/etc/netns/${namespace}/resolv.conf`, '# netsim: no DNS server is reachable from here; fail at once\nnameserver 127.0.0.1\n');
}

/** Removes namespace, veth pair (both ends go with either) and the host's tables. Synchronous, so the exit hook can use it. */
function removeNetworkSync(namespace: string, hostInterface: string, table: string): void {
  const quiet = { stdio: 'ignore' as const, timeout: COMMAND_TIMEOUT_MS };
  spawnSync(ipCommand(), ['netns', 'del', `${namespace}${LAN_SUFFIX}`], quiet);
  spawnSync(ipCommand(), ['netns', 'del', namespace], quiet);
  for (const name of [namespace, `${namespace}${LAN_SUFFIX}`]) rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  // Normally gone with the namespace; not if a process still runs inside it.
  if (existsSync(`/sys/class/net/${hostInterface}`)) spawnSync(ipCommand(), ['link', 'del', hostInterface], quiet);
  for (const family of ['netdev', 'inet']) spawnSync('nft', ['delete', 'table', family, table], quiet);
}

/** Removes every netsim namespace, interface and table whose owning process is gone. */
export function sweepStaleNetworks(): void {
  const stale = new Set<string>(); // "<pid>-<block>"
  const ownerGone = (pid: string) => {
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  const ns = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)-(\\d+)\\b`);
  for (const line of execFileSync(ipCommand(), ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const match = ns.exec(line);
    if (match && ownerGone(match[1]!)) stale.add(`${match[1]}-${match[2]}`);
  }
  for (const line of execFileSync(ipCommand(), ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n')) {
    const match = new RegExp(`alias ${NAMESPACE_PREFIX}(\\d+)-(\\d+)`).exec(line);
    if (match && ownerGone(match[1]!)) stale.add(`${match[1]}-${match[2]}`);
  }
  const tables = new RegExp(`^table (?:netdev|inet) ${TABLE_PREFIX}(\\d+)_(\\d+)$`);
  for (const line of execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n')) {
    const match = tables.exec(line.trim());
    if (match && ownerGone(match[1]!)) stale.add(`${match[1]}-${match[2]}`);
  }
  for (const name of stale) {
    removeNetworkSync(`${NAMESPACE_PREFIX}${name}`, `${INTERFACE_PREFIX}${name.split('-')[1]}`, `${TABLE_PREFIX}${name.replace('-', '_')}`);
  }
}

// ---------------------------------------------------------------------------
// helpers

function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new Error('netsim needs root (network namespaces, tc and nftables); run the e2e tests as root, as CI does');
  ipCommand();
  const nft = spawnSync('nft', ['--version'], { stdio: 'ignore' });
  if (nft.error || nft.status !== 0) throw new Error('netsim needs nftables: DEBIAN_FRONTEND=noninteractive apt-get install -y nftables');
}

function hostIpv4Addresses(): Set<string> {
  const out = execFileSync(ipCommand(), ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!));
}

/** Runs a command; rejects with its output if it fails or times out. */
export function run(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`netsim: \`${command} ${args.join(' ')}\` failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve({ stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
