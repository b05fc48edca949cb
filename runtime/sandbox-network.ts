/**
 * Network `bridge` for one worker (README "Network"): made the first time a sandbox needs it — a
 * bridge of its own on a /24 no route of the host overlaps, an nftables table of its own
 * (runtime/firewall-nft.ts), forwarding on the bridge and the uplinks — then an address and a veth
 * name leased to each sandbox, and everything removed again by `close`. The veths themselves are
 * made and deleted by each sandbox's supervisor (native/net-veth.c).
 */
import { existsSync } from 'node:fs';
import { SandboxError } from './sandbox-error.js';
import { applyFirewall, nftUsable, removeFirewall, TABLE_PREFIX } from './firewall-nft.js';
import { hostResolvers, type Resolvers } from './host-resolvers.js';
import { ipJson } from './host-command.js';
import { cidrsOverlap, formatCidr4, intToIpv4, parseCidr4, subnetsOf, type Cidr4 } from './ipv4.js';
import type { NetworkLease } from './launcher-protocol.js';
import { createBridge, defaultRouteDevices, enableForwarding, removeLink, warmboxBridges } from './network-bridge.js';
import { markForwardingTurnedOn, restoreForwarding, withNetworkLock } from './network-host-state.js';
import { NAME_PREFIX_PATTERN, NETWORK_SUBNET_PREFIX, type NetworkSettings } from './network-settings.js';

/** Linux's IFNAMSIZ less its NUL. */
const IFNAME_MAX = 15;
/** Bridges of this process: its name carries the pid, so one runtime of a process may have one at a time. */
const bridgesOfThisProcess = new Set<string>();

export class SandboxNetwork {
  /** Host numbers (.2 to .254) free to lease, the lowest first. */
  private readonly free: number[] = [];
  private closed = false;

  private constructor(
    readonly bridge: string,
    readonly subnet: Cidr4,
    private readonly resolvers: Resolvers,
    private readonly onLog: (line: string) => void,
  ) {
    for (let host = 2; host < 2 ** (32 - subnet.prefix) - 1; host++) this.free.push(host);
  }

  /** The worker's bridge name: the prefix and this process's pid in base 36. */
  static bridgeNameOf(prefix: string, pid = process.pid): string {
    return `${prefix}${pid.toString(36)}`;
  }

  static async open(settings: NetworkSettings, onLog: (line: string) => void): Promise<SandboxNetwork> {
    if (!NAME_PREFIX_PATTERN.test(settings.namePrefix)) throw new SandboxError(`the network name prefix ${JSON.stringify(settings.namePrefix)} must be 1 to 4 lowercase letters`);
    if (!(await nftUsable())) {
      throw new SandboxError('network "bridge" needs nftables, and `nft list tables` fails here: install nftables (Debian: apt-get install nftables; `npm run setup` does) on a kernel with nf_tables');
    }
    const bridge = SandboxNetwork.bridgeNameOf(settings.namePrefix);
    if (bridgesOfThisProcess.has(bridge)) throw new SandboxError(`the bridge ${bridge} is another runtime's of this process: one runtime per process may use network bridge at a time`);
    bridgesOfThisProcess.add(bridge);
    try {
      return await SandboxNetwork.make(settings, bridge, onLog);
    } catch (err) {
      bridgesOfThisProcess.delete(bridge);
      throw err;
    }
  }

  private static async make(settings: NetworkSettings, bridge: string, onLog: (line: string) => void): Promise<SandboxNetwork> {
    const resolvers = settings.dns ? { servers: [...settings.dns], source: 'WARMBOX_NETWORK_DNS' } : hostResolvers();
    if (resolvers.servers.length === 0) onLog(`network bridge: sandboxes get no DNS resolver: ${resolvers.source}; set WARMBOX_NETWORK_DNS`);
    const uplinks = settings.uplinks ?? (await defaultRouteDevices());
    return withNetworkLock(async () => {
      const subnet = await chooseSubnet(parseCidr4(settings.pool));
      const gateway = intToIpv4(subnet.base + 1);
      await createBridge(bridge, `${gateway}/${subnet.prefix}`);
      try {
        await applyFirewall({ table: TABLE_PREFIX + bridge, bridge, subnet: formatCidr4(subnet), resolvers: resolvers.servers, allow: settings.allow });
        for (const dev of uplinks) if (enableForwarding(dev)) markForwardingTurnedOn(dev);
      } catch (err) {
        await removeFirewall(TABLE_PREFIX + bridge).catch(() => undefined);
        await removeLink(bridge);
        throw err;
      }
      onLog(`network bridge: ${bridge} on ${formatCidr4(subnet)}, uplinks ${uplinks.join(', ') || 'none'}, resolvers ${resolvers.servers.join(', ') || 'none'} (${resolvers.source})`);
      return new SandboxNetwork(bridge, subnet, resolvers, onLog);
    });
  }

  get gateway(): string {
    return intToIpv4(this.subnet.base + 1);
  }

  /** An address and a veth name for sandbox number `seq` of this worker. */
  lease(seq: number): NetworkLease {
    if (this.closed) throw new SandboxError('the network is closed');
    const host = this.free.shift();
    if (host === undefined) throw new SandboxError(`network bridge: all ${2 ** (32 - this.subnet.prefix) - 3} addresses of ${formatCidr4(this.subnet)} are in use`);
    const room = IFNAME_MAX - this.bridge.length - 1;
    return {
      bridge: this.bridge,
      veth: `${this.bridge}-${(seq % 36 ** room).toString(36)}`,
      address: intToIpv4(this.subnet.base + host),
      prefix: this.subnet.prefix,
      gateway: this.gateway,
      nameservers: this.resolvers.servers,
    };
  }

  /**
   * Once the sandbox's supervisor has exited: its veth is gone (it deleted it), unless it died
   * first; then it is deleted here. Only then is the address leased again.
   */
  async release(lease: NetworkLease): Promise<void> {
    if (existsSync(`/sys/class/net/${lease.veth}`)) {
      this.onLog(`network bridge: the veth ${lease.veth} outlived its sandbox's supervisor; deleting it`);
      await removeLink(lease.veth);
    }
    const host = (parseCidr4(lease.address).base - this.subnet.base) >>> 0;
    this.free.push(host);
    this.free.sort((a, b) => a - b);
  }

  /** Removes the table and the bridge (use it after every sandbox is gone), and the uplinks' forwarding with the last bridge. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await removeFirewall(TABLE_PREFIX + this.bridge);
    await removeLink(this.bridge);
    bridgesOfThisProcess.delete(this.bridge);
    if ((await warmboxBridges()).length === 0) restoreForwarding(this.onLog);
  }
}

interface RouteJson {
  dst?: string;
  type?: string;
}
interface AddrJson {
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** The first /24 of the pool that no route (any table) and no address of the host overlaps. */
async function chooseSubnet(pool: Cidr4): Promise<Cidr4> {
  const routes = await ipJson<RouteJson>(['-4', 'route', 'show', 'table', 'all']);
  const addrs = await ipJson<AddrJson>(['-4', 'addr', 'show']);
  const taken = [
    ...routes.map((r) => r.dst).filter((d): d is string => d !== undefined && d !== 'default').map(parseCidr4),
    ...addrs.flatMap((a) => a.addr_info ?? []).filter((i) => i.local).map((i) => parseCidr4(`${i.local}/${i.prefixlen ?? 32}`)),
  ];
  if (pool.prefix > NETWORK_SUBNET_PREFIX) throw new SandboxError(`the network pool ${formatCidr4(pool)} is smaller than a /${NETWORK_SUBNET_PREFIX}`);
  for (const candidate of subnetsOf(pool, NETWORK_SUBNET_PREFIX)) {
    if (!taken.some((t) => cidrsOverlap(t, candidate))) return candidate;
  }
  throw new SandboxError(`network bridge: every /${NETWORK_SUBNET_PREFIX} of ${formatCidr4(pool)} overlaps a route of the host: set WARMBOX_NETWORK_POOL to a free range`);
}
