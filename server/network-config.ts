/**
 * Configuration of network `bridge` (README "Network") from environment variables, checked once
 * at start with messages that name the variable; part of the server configuration (server/config.ts).
 *
 * | variable                     | default                        | meaning                                              |
 * |------------------------------|--------------------------------|------------------------------------------------------|
 * | WARMBOX_NETWORK_POOL         | 172.29.0.0/16                  | the range each worker's /24 is chosen from (the first |
 * |                              |                                | one no route of the host overlaps); /8 to /24        |
 * | WARMBOX_NETWORK_ALLOW        | —                              | refused ranges a sandbox may reach after all: `private`, |
 * |                              |                                | `link-local`, `cgnat`, `loopback` or CIDRs (as WARMBOX_WEBHOOK_ALLOW) |
 * | WARMBOX_NETWORK_DNS          | the host's (/etc/resolv.conf)  | comma-separated IPv4 resolvers for every sandbox     |
 * | WARMBOX_NETWORK_UPLINKS      | the default routes' devices    | comma-separated interfaces whose forwarding is turned on |
 * | WARMBOX_NETWORK_NAME_PREFIX  | wbx                            | 1-4 letters starting every name warmbox gives the host |
 */
import { isIPv4 } from 'node:net';
import { WebhookTargetPolicy } from '../contract/webhook-target-policy.js';
import { parseCidr4 } from '../runtime/ipv4.js';
import { DEFAULT_NETWORK_SETTINGS, NAME_PREFIX_PATTERN, NETWORK_SUBNET_PREFIX, type NetworkSettings } from '../runtime/network-settings.js';

const list = (s: string | undefined): string[] | undefined =>
  s === undefined || s.trim() === '' ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean);

/** Throws an Error whose message lists every problem, each naming its variable. */
export function networkConfigFromEnv(env: NodeJS.ProcessEnv = process.env): NetworkSettings {
  const problems: string[] = [];
  const bad = (name: string, why: string) => problems.push(`${name}=${JSON.stringify(env[name])}: ${why}`);
  const pool = env.WARMBOX_NETWORK_POOL || DEFAULT_NETWORK_SETTINGS.pool;
  try {
    const p = parseCidr4(pool);
    if (p.prefix < 8 || p.prefix > NETWORK_SUBNET_PREFIX) bad('WARMBOX_NETWORK_POOL', `must be a /8 to /${NETWORK_SUBNET_PREFIX}`);
  } catch (err) {
    bad('WARMBOX_NETWORK_POOL', (err as Error).message);
  }
  let allow = DEFAULT_NETWORK_SETTINGS.allow;
  try {
    allow = WebhookTargetPolicy.parse(env.WARMBOX_NETWORK_ALLOW ?? '');
  } catch (err) {
    bad('WARMBOX_NETWORK_ALLOW', (err as Error).message);
  }
  const dns = list(env.WARMBOX_NETWORK_DNS);
  if (dns && (dns.length > 3 || !dns.every((d) => isIPv4(d)))) bad('WARMBOX_NETWORK_DNS', 'expected 1 to 3 IPv4 addresses, comma-separated');
  const uplinks = list(env.WARMBOX_NETWORK_UPLINKS);
  if (uplinks && !uplinks.every((u) => /^[^/\s:]{1,15}$/.test(u) && u !== '.' && u !== '..')) bad('WARMBOX_NETWORK_UPLINKS', 'expected interface names, comma-separated');
  const namePrefix = env.WARMBOX_NETWORK_NAME_PREFIX || DEFAULT_NETWORK_SETTINGS.namePrefix;
  if (!NAME_PREFIX_PATTERN.test(namePrefix)) bad('WARMBOX_NETWORK_NAME_PREFIX', 'expected 1 to 4 lowercase letters');
  if (problems.length) throw new Error(`invalid configuration: ${problems.join('; ')}`);
  return { namePrefix, pool, allow, ...(dns && { dns }), ...(uplinks && { uplinks }) };
}
