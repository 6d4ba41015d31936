/**
 * A home network behind a NAT, for ICE tests: a LAN namespace (where the browser runs, on a
 * private /24) behind a router namespace that masquerades everything it sends towards the host.
 * The router is an ordinary netsim `Network` (`wan`): its veth address is the NAT's public
 * address, the host is "the internet" (servers listen there, other NATs hang off it).
 *
 *   browser (LAN namespace, 192.168.77.2) --lan0-- router (NAT) --veth-- host (server, other NATs)
 *
 * Every NAT built here uses the same private subnet, as two homes do: the host has no route to it
 * and a browser's host candidate names an address that, from anywhere else, is either nowhere or
 * the other browser's own LAN. What gets through is what the NAT maps:
 * - `endpoint-independent`: nftables masquerade, which keeps the source port when it is free: a
 *   socket gets the same public address and port towards every destination (the STUN server and
 *   the other peer alike), so the server-reflexive candidate STUN finds is the one the peer can
 *   reach once both sides have sent (hole punching). Inbound filtering stays per flow (conntrack).
 * - `symmetric`: masquerade `fully-random`: each new flow gets a random public port, so what STUN
 *   saw is not what the peer sees; only a relay (TURN) connects two such NATs.
 * Unsolicited packets from the WAN are dropped by the router (as a home router does), before
 * conntrack could record them: a recorded inbound flow would take a port the NAT then could not
 * keep for the outgoing flow that punches the hole.
 *
 * Mappings apply to new flows: a browser's ICE sockets are new for each PeerConnection.
 * The LAN namespace is named after the router's with `LAN_SUFFIX`, so `close()`, the exit hook and
 * the stale sweep of network.ts remove it with the router's. Needs root, iproute2 and nftables.
 */
import { ipCommand } from '../harness/namespace-launch.ts';
import { createNetwork, failFastResolver, LAN_SUFFIX, run, type Network } from './network.ts';

export type NatMapping = 'endpoint-independent' | 'symmetric';

const LAN_PREFIX = '192.168.77';
const ROUTER_LAN_ADDRESS = `${LAN_PREFIX}.1`;
const LAN_ADDRESS = `${LAN_PREFIX}.2`;
/** The router's end of the LAN link (its WAN end is netsim's `eth0`). */
const ROUTER_LAN_INTERFACE = 'lan0';
const NAT_TABLE = 'parley_nat';

export class NattedNetwork {
  private closed = false;

  constructor(
    /** The router and its link to the host: `wan.address` is the NAT's public address. */
    readonly wan: Network,
    /** The LAN namespace: start the browser here (`networkNamespace`). */
    readonly namespace: string,
    private currentMapping: NatMapping,
  ) {}

  /** The browser's address on the LAN (the same behind every NAT). */
  get privateAddress(): string {
    return LAN_ADDRESS;
  }

  /** The NAT's address as the host and the other NATs see it. */
  get publicAddress(): string {
    return this.wan.address;
  }

  get mapping(): NatMapping {
    return this.currentMapping;
  }

  /** Changes how the NAT maps new flows (established ones keep their mapping). */
  async setMapping(mapping: NatMapping): Promise<void> {
    this.assertOpen();
    await this.wan.exec('nft', ['-f', '-'], { input: natRules(mapping) });
    this.currentMapping = mapping;
  }

  /** Flows the NAT has translated since its mapping was last set (each flow's first packet passes the nat chain). */
  async translatedFlows(): Promise<number> {
    this.assertOpen();
    const { stdout } = await this.wan.exec('nft', ['list', 'chain', 'ip', NAT_TABLE, 'postrouting']);
    return Number(/counter packets (\d+)/.exec(stdout)?.[1] ?? 0);
  }

  /** Runs a command inside the LAN namespace. */
  exec(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
    this.assertOpen();
    return run(ipCommand(), ['netns', 'exec', this.namespace, command, ...args], options);
  }

  /** Removes the LAN and the router (see network.ts's `close()`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wan.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`NAT network ${this.namespace} is closed`);
  }
}

/** A LAN behind a NAT of `mapping` behaviour, joined to the host through a netsim network. */
export async function createNattedNetwork(options: { mapping: NatMapping }): Promise<NattedNetwork> {
  const wan = await createNetwork();
  const lan = `${wan.namespace}${LAN_SUFFIX}`;
  try {
    const ip = ipCommand();
    await run(ip, ['netns', 'add', lan]);
    const inRouter = (...args: string[]) => run(ip, ['-n', wan.namespace, ...args]);
    const inLan = (...args: string[]) => run(ip, ['-n', lan, ...args]);
    await inRouter('link', 'add', ROUTER_LAN_INTERFACE, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan);
    // IPv4 only, as on the WAN side: an IPv6 link-local path would bypass the NAT.
    await run(ip, ['netns', 'exec', lan, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await wan.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await inRouter('addr', 'add', `${ROUTER_LAN_ADDRESS}/24`, 'dev', ROUTER_LAN_INTERFACE);
    await inRouter('link', 'set', ROUTER_LAN_INTERFACE, 'up');
    await inLan('addr', 'add', `${LAN_ADDRESS}/24`, 'dev', 'eth0');
    await inLan('link', 'set', 'eth0', 'up');
    await inLan('link', 'set', 'lo', 'up');
    // A default route: Firefox gathers no candidates without one.
    await inLan('route', 'add', 'default', 'via', ROUTER_LAN_ADDRESS);
    failFastResolver(lan);
    await wan.exec('nft', ['-f', '-'], { input: natRules(options.mapping) });
    return new NattedNetwork(wan, lan, options.mapping);
  } catch (error) {
    await wan.close();
    throw error;
  }
}

/** The router's whole ruleset, replacing the previous one. */
function natRules(mapping: NatMapping): string {
  const masquerade = mapping === 'symmetric' ? 'masquerade fully-random' : 'masquerade';
  return [
    `table ip ${NAT_TABLE}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname "eth0" ip saddr ${LAN_PREFIX}.0/24 counter ${masquerade}`,
    `  }`,
    // A packet dropped here never confirms its conntrack entry, so it takes no port.
    `  chain input {`,
    `    type filter hook input priority filter; policy drop;`,
    `    iifname "lo" accept`,
    `    ct state established,related accept`,
    `    iifname "${ROUTER_LAN_INTERFACE}" accept`,
    `  }`,
    // Only what the LAN started (and the replies) crosses the router.
    `  chain forward {`,
    `    type filter hook forward priority filter; policy drop;`,
    `    iifname "${ROUTER_LAN_INTERFACE}" oifname "eth0" accept`,
    `    iifname "eth0" oifname "${ROUTER_LAN_INTERFACE}" ct state established,related accept`,
    `  }`,
    `}`,
  ].join('\n');
}
