/**
 * The resolvers a sandbox with network `bridge` is given: the host's, as /etc/resolv.conf names
 * them, when they are not loopback (a sandbox cannot reach the host's 127.0.0.1, nor any address
 * of the host). With systemd-resolved's stub (127.0.0.53) there, the upstream servers it uses
 * instead, from /run/systemd/resolve/resolv.conf, as Docker does. IPv4 only: the sandbox has no
 * IPv6. None left: the sandbox gets none, and the worker says so once (WARMBOX_NETWORK_DNS sets them).
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

export const HOST_RESOLV_CONF = '/etc/resolv.conf';
export const RESOLVED_UPSTREAM_CONF = '/run/systemd/resolve/resolv.conf';
/** glibc's resolver reads at most three (MAXNS); the launcher takes as many. */
export const MAX_RESOLVERS = 3;

export interface Resolvers {
  servers: string[];
  /** Where they come from, or why there are none: for the worker's log. */
  source: string;
}

/** The `nameserver` lines of a resolv.conf text, in order. */
export function nameserversOf(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((s): s is string => s !== undefined);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

function read(path: string): string[] | undefined {
  try {
    return nameserversOf(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export function hostResolvers(paths = { conf: HOST_RESOLV_CONF, upstream: RESOLVED_UPSTREAM_CONF }): Resolvers {
  const listed = read(paths.conf) ?? [];
  const usable = listed.filter((s) => isIPv4(s) && !isLoopback(s));
  if (usable.length) return { servers: usable.slice(0, MAX_RESOLVERS), source: paths.conf };
  if (listed.some(isLoopback)) {
    const upstream = (read(paths.upstream) ?? []).filter((s) => isIPv4(s) && !isLoopback(s));
    if (upstream.length) return { servers: upstream.slice(0, MAX_RESOLVERS), source: `${paths.upstream} (the stub resolver's upstream servers)` };
  }
  return { servers: [], source: `no IPv4 resolver a sandbox can reach in ${paths.conf}${listed.some(isLoopback) ? ` or ${paths.upstream}` : ''}` };
}
