/**
 * The firewall of one worker's bridge: one nftables table of its own (`inet warmbox_<bridge>`),
 * made and deleted whole, so that no rule of anyone else's is ever read, changed or flushed.
 * Its base chains see only traffic of its own bridge or subnet; other tables (the host's own
 * firewall) still apply after it — an `accept` here is not the last word, a `reject` is.
 *
 * From a sandbox (iif = the bridge):
 * - to the host itself — every host address, the bridge's, loopback's, whatever its interface:
 *   such a packet is delivered locally, so the input hook sees it — refused (the resolvers excepted,
 *   on port 53, when the host itself serves DNS);
 * - forwarded: to another sandbox (oif = the bridge) refused, and nothing from outside may open a
 *   connection to a sandbox (only replies, conntrack `established,related`); IPv6 refused (the
 *   sandbox has none); the resolvers on port 53 accepted, the operator's allowed CIDRs accepted,
 *   the special-purpose ranges (contract/webhook-target-policy.ts, the webhooks' list) refused;
 *   everything else accepted, and masqueraded behind the host's address on the way out.
 * Refusals are ICMP administratively-prohibited: a connect fails at once (EHOSTUNREACH), not after a timeout.
 */
import { specialPurposeRanges, type WebhookTargetPolicy } from '../contract/webhook-target-policy.js';
import { hostCommand } from './host-command.js';

export const TABLE_PREFIX = 'warmbox_';

export interface FirewallSpec {
  table: string;
  bridge: string;
  /** The bridge's subnet, `a.b.c.0/24`. */
  subnet: string;
  /** IPv4 resolvers the sandboxes may query on port 53, wherever they are. */
  resolvers: readonly string[];
  allow: WebhookTargetPolicy;
}

function setOf(name: string, elements: readonly string[]): string[] {
  const body = [`    type ipv4_addr; flags interval; auto-merge;`];
  if (elements.length) body.push(`    elements = { ${elements.join(', ')} }`);
  return [`  set ${name} {`, ...body, '  }'];
}

/** The refused set: the special-purpose IPv4 ranges less the classes the operator allowed. */
function refusedRanges(allow: WebhookTargetPolicy): string[] {
  const allowed = new Set<string>(allow.allowed.classes);
  return specialPurposeRanges('ipv4').filter((r) => !allowed.has(r.class)).map((r) => r.cidr);
}

function allowedCidrs(allow: WebhookTargetPolicy): string[] {
  return allow.allowed.cidrs.filter((c) => !c.includes(':'));
}

/** The whole table as `nft -f` reads it. Names are checked by the caller (they reach a command's stdin). */
export function nftRuleset(f: FirewallSpec): string {
  const br = JSON.stringify(f.bridge);
  const refuse = 'reject with icmpx admin-prohibited';
  const dns = 'meta l4proto { tcp, udp } th dport 53';
  return [
    `table inet ${f.table} {`,
    ...setOf('refused', refusedRanges(f.allow)),
    ...setOf('allowed', allowedCidrs(f.allow)),
    ...setOf('resolvers', f.resolvers),
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${br} ip daddr @resolvers ${dns} accept`,
    `    iifname ${br} ${refuse}`,
    `    iifname != "lo" ip saddr ${f.subnet} ${refuse}`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname ${br} ct state established,related accept`,
    `    oifname ${br} ${refuse}`,
    `    iifname ${br} meta nfproto ipv6 ${refuse}`,
    `    iifname ${br} ip daddr @resolvers ${dns} accept`,
    `    iifname ${br} ip daddr @allowed accept`,
    `    iifname ${br} ip daddr @refused ${refuse}`,
    `    ip saddr ${f.subnet} iifname != ${br} ${refuse}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${f.subnet} oifname != ${br} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Whether nft can be used here: the binary answers and the kernel has nf_tables. */
export async function nftUsable(): Promise<boolean> {
  try {
    await hostCommand('nft', ['list', 'tables']);
    return true;
  } catch {
    return false;
  }
}

/** Loads the table in one transaction (all of it or nothing). */
export async function applyFirewall(f: FirewallSpec): Promise<void> {
  await hostCommand('nft', ['-f', '-'], nftRuleset(f));
}

/** Deletes a table of ours; one already gone is fine. */
export async function removeFirewall(table: string): Promise<void> {
  if (!table.startsWith(TABLE_PREFIX)) throw new Error(`refusing to delete nftables table ${table}: not warmbox's`);
  try {
    await hostCommand('nft', ['delete', 'table', 'inet', table]);
  } catch (err) {
    if (!(await firewallTables()).includes(table)) return;
    throw err;
  }
}

/** The names of the inet tables warmbox made (by their prefix). */
export async function firewallTables(): Promise<string[]> {
  const out = await hostCommand('nft', ['list', 'tables', 'inet']);
  return out
    .split('\n')
    .map((l) => /^table inet (\S+)$/.exec(l.trim())?.[1])
    .filter((t): t is string => t !== undefined && t.startsWith(TABLE_PREFIX));
}
