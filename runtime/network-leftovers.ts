/**
 * What a dead worker left of its network: its bridge (and with it its nftables table), veths of
 * sandboxes whose namespaces did not go yet. Found without spawning anything in the usual case
 * (a listing of /sys/class/net), by name — `<prefix><pid in base 36>[-<n>]` — and for a bridge by
 * its alias too; only those whose pid is not alive are removed. Runs when a runtime opens.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { removeFirewall, TABLE_PREFIX } from './firewall-nft.js';
import { BRIDGE_ALIAS_PREFIX, removeLink, warmboxBridges } from './network-bridge.js';
import { restoreForwarding } from './network-host-state.js';

export interface StaleLink {
  name: string;
  pid: number;
  kind: 'bridge' | 'veth';
}

function aliasOf(name: string): string {
  try {
    return readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The links named like warmbox's with `prefix` whose owner is not alive. */
export function staleLinks(prefix: string, isAlive: (pid: number) => boolean): StaleLink[] {
  const pattern = new RegExp(`^${prefix}([0-9a-z]{1,5})(-[0-9a-z]+)?$`);
  const stale: StaleLink[] = [];
  for (const name of readdirSync('/sys/class/net')) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = parseInt(m[1]!, 36);
    if (isAlive(pid)) continue;
    if (m[2] !== undefined) stale.push({ name, pid, kind: 'veth' });
    else if (aliasOf(name) === `${BRIDGE_ALIAS_PREFIX}${pid}`) stale.push({ name, pid, kind: 'bridge' });
  }
  return stale;
}

/** Removes them (a bridge's table first); returns what could not be removed, with why. */
export async function reapStaleNetworks(prefix: string, isAlive: (pid: number) => boolean): Promise<string[]> {
  const stale = staleLinks(prefix, isAlive);
  if (stale.length === 0) return [];
  const left: string[] = [];
  for (const link of stale) {
    try {
      if (link.kind === 'bridge') await removeFirewall(`${TABLE_PREFIX}${link.name}`).catch(ignoreMissingNft);
      await removeLink(link.name);
    } catch (err) {
      left.push(`${link.kind} ${link.name} of dead pid ${link.pid}: ${(err as Error).message}`);
    }
  }
  if ((await warmboxBridges()).length === 0) restoreForwarding((line) => left.push(line));
  return left;
}

/** A host without nft had no table to leave behind. */
function ignoreMissingNft(err: Error): void {
  if (!/ENOENT|not found/.test(err.message)) throw err;
}
