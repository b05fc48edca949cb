/**
 * One worker's bridge: made on demand with `ip`, marked with an alias naming its owner's pid (so a
 * later worker can tell a dead worker's bridge from anything else's), IPv6 off, IPv4 forwarding on
 * for packets that come in on it. And the uplinks' forwarding, which replies need.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostCommand, ipJson } from './host-command.js';

/** `warmbox pid=<pid>`: the alias of every bridge warmbox makes. */
export const BRIDGE_ALIAS_PREFIX = 'warmbox pid=';

export async function createBridge(name: string, gatewayCidr: string): Promise<void> {
  await hostCommand('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  try {
    await hostCommand('ip', ['link', 'set', 'dev', name, 'alias', `${BRIDGE_ALIAS_PREFIX}${process.pid}`]);
    writeSysctl(`ipv6/conf/${name}/disable_ipv6`, '1');
    writeSysctl(`ipv4/conf/${name}/forwarding`, '1');
    await hostCommand('ip', ['addr', 'add', gatewayCidr, 'dev', name]);
    await hostCommand('ip', ['link', 'set', 'dev', name, 'up']);
  } catch (err) {
    await removeLink(name);
    throw err;
  }
}

/** Deletes a link warmbox made (a bridge's ports are detached, not deleted); one already gone is fine. */
export async function removeLink(name: string): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) return;
  try {
    await hostCommand('ip', ['link', 'del', 'dev', name]);
  } catch (err) {
    if (existsSync(`/sys/class/net/${name}`)) throw err;
  }
}

interface LinkJson {
  ifname: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

/** Every bridge warmbox made on this host, with its owner's pid. */
export async function warmboxBridges(): Promise<{ name: string; pid: number }[]> {
  const links = await ipJson<LinkJson>(['-d', 'link', 'show', 'type', 'bridge']);
  return links
    .filter((l) => l.ifalias?.startsWith(BRIDGE_ALIAS_PREFIX))
    .map((l) => ({ name: l.ifname, pid: Number(l.ifalias!.slice(BRIDGE_ALIAS_PREFIX.length)) }));
}

/** Every veth whose name starts with `prefix`. */
export async function vethsNamed(prefix: string): Promise<string[]> {
  const links = await ipJson<LinkJson>(['link', 'show', 'type', 'veth']);
  return links.map((l) => l.ifname.split('@')[0]!).filter((n) => n.startsWith(prefix));
}

/** The devices of the host's IPv4 default routes (every table). */
export async function defaultRouteDevices(): Promise<string[]> {
  const routes = await ipJson<{ dev?: string }>(['-4', 'route', 'show', 'default', 'table', 'all']);
  return [...new Set(routes.map((r) => r.dev).filter((d): d is string => d !== undefined))];
}

export function readSysctl(path: string): string {
  return readFileSync(`/proc/sys/net/${path}`, 'utf8').trim();
}

export function writeSysctl(path: string, value: string): void {
  writeFileSync(`/proc/sys/net/${path}`, value);
}

/**
 * Turns IPv4 forwarding on for packets that come in on `dev` (replies to the sandboxes, after the
 * masquerade is undone). Per interface, not the host-wide ip_forward: what comes in on other
 * interfaces is routed as before. Returns whether it was off (so that warmbox turns it back off).
 */
export function enableForwarding(dev: string): boolean {
  const path = `ipv4/conf/${dev}/forwarding`;
  if (readSysctl(path) === '1') return false;
  writeSysctl(path, '1');
  return true;
}
