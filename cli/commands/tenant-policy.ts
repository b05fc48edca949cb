/**
 * `warmbox tenants policy NAME [--rate 10/s --burst 20 ...]`: shows a tenant's policy, or changes
 * what the flags name and shows the result. Over HTTP (GET/PUT /v1/tenants/{id}/policy) by
 * default; with --data DIR, directly in the server host's database (as the first admin's tasks are done).
 */
import { parseArgs } from 'node:util';
import { normalizedPattern } from '../../contract/image-allow-list.js';
import type { TenantPolicy } from '../../contract/tenant.js';
import { applyPolicyPatch, parsePolicySettings, POLICY_SETTINGS, PolicyTextError, type PolicySetting } from '../../contract/tenant-policy-text.js';
import { ApiClient } from '../api-client.js';
import { UsageError } from '../units.js';

export const TENANTS_POLICY_HELP = `Usage: warmbox tenants policy NAME [OPTIONS]

Show a tenant's policy; with any of the settings below, change those (the others stay) and show
the result. NAME is the tenant's id (over HTTP) or its id or name (with --data).
The local tenant's policy is the server's configuration (WARMBOX_TENANT_* variables): shown, not changed here.

Settings (off removes a cap):
      --rate N/s|N/m|N/h    Job submissions: a token bucket refilled at this rate (off: unlimited)
      --burst N             The bucket's size: most jobs at once after a quiet spell
      --max-queued N        Most jobs queued at once (429 above)
      --max-running N       Most jobs running at once, across all workers
      --max-memory SIZE     Cap on limits.memoryBytes, e.g. 512m (422 above)
      --max-time DURATION   Cap on limits.wallTimeMs, e.g. 30s
      --max-cpu-time DURATION  Cap on limits.cpuTimeMs
      --max-pids N          Cap on limits.pids
      --images LIST         Allowed images, comma-separated; PREFIX* matches a prefix of the
                            normalized reference (docker.io/library/python*); 'any': every image
      --network on|off      Whether jobs may ask for a network
      --retention DURATION  Finished jobs kept this long, e.g. 7d ('default': the server's)

Options:
      --json                Print the policy as JSON
      --data DIR            Change it in the database of the server host's data directory
      --url URL             warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help                Show this help`;

/** `warmbox tenants policy ...`: `args` are what follows `policy`. */
export async function tenantPolicyCommand(args: string[]): Promise<number> {
  const settingOptions = Object.fromEntries(POLICY_SETTINGS.map((s) => [s, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({
    args,
    options: { ...settingOptions, json: { type: 'boolean' }, data: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(TENANTS_POLICY_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected one tenant: warmbox tenants policy NAME [OPTIONS]');
  const given = values as Record<string, unknown>;
  const settings = Object.fromEntries(POLICY_SETTINGS.map((s) => [s, given[s] as string | undefined]).filter(([, v]) => v !== undefined));
  const change = (policy: TenantPolicy) => changed(policy, settings);
  const store = typeof values.data === 'string' ? await hostDbStore(values.data) : httpStore(new ApiClient(values.url as string | undefined));
  try {
    const { id, policy } = await store.read(positionals[0]!);
    const result = Object.keys(settings).length === 0 ? policy : await store.write(id, change(policy));
    printPolicy(id, result, values.json === true);
    return 0;
  } finally {
    await store.close();
  }
}

function changed(policy: TenantPolicy, settings: Partial<Record<PolicySetting, string>>): TenantPolicy {
  try {
    const patch = parsePolicySettings(settings, (s) => `--${s}`);
    if (patch.images) patch.images = patch.images.map(normalizedPattern);
    return applyPolicyPatch(policy, patch);
  } catch (err) {
    if (err instanceof PolicyTextError) throw new UsageError(err.message);
    throw err;
  }
}

interface PolicyStore {
  read(name: string): Promise<{ id: string; policy: TenantPolicy }>;
  write(id: string, policy: TenantPolicy): Promise<TenantPolicy>;
  close(): void | Promise<void>;
}

function httpStore(client: ApiClient): PolicyStore {
  const path = (id: string) => `/v1/tenants/${encodeURIComponent(id)}/policy`;
  return {
    read: async (name) => ({ id: name, policy: (await client.request<{ policy: TenantPolicy }>('GET', path(name))).policy }),
    write: async (id, policy) => (await client.request<{ policy: TenantPolicy }>('PUT', path(id), policy)).policy,
    close: () => undefined,
  };
}

/** Loaded on demand: the db modules are not needed over HTTP. */
async function hostDbStore(dataDir: string): Promise<PolicyStore> {
  const { openHostTenantPolicies } = await import('../../server/host-tenant-policy.js');
  const host = await openHostTenantPolicies(dataDir);
  const asUsage = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  return {
    read: (name) => asUsage(() => host.read(name)),
    write: (id, policy) => asUsage(() => host.write(id, policy)),
    close: () => host.close(),
  };
}

function printPolicy(id: string, p: TenantPolicy, json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ tenant: id, policy: p }, null, 2));
    return;
  }
  const caps = Object.entries(p.limitCaps).map(([k, v]) => `${k}=${v}`);
  const lines: [string, string][] = [
    ['tenant', id],
    ['rate', p.rate ? `${p.rate.perSecond}/s, burst ${p.rate.burst}` : 'unlimited'],
    ['max queued', p.maxQueuedJobs === null ? 'no cap' : String(p.maxQueuedJobs)],
    ['max running', p.maxRunningJobs === null ? 'no cap' : String(p.maxRunningJobs)],
    ['limit caps', caps.length === 0 ? 'the server\'s maxima' : caps.join(', ')],
    ['images', p.images === null ? 'any' : p.images.join(', ')],
    ['network', p.network ? 'allowed' : 'none only'],
    ['retention', p.retentionSeconds === null ? 'the server\'s default' : `${p.retentionSeconds / 86_400} days`],
  ];
  for (const [k, v] of lines) console.log(`${k.padEnd(12)} ${v}`);
}
