/**
 * The local tenant's policy and the retention default, from environment variables, checked once
 * at start with messages that name the variable; part of the server configuration (server/config.ts).
 * While auth is off every request acts for the local tenant, so these bound every client.
 *
 * | variable                      | default | example                          | meaning (README "Quotas")                      |
 * |-------------------------------|---------|----------------------------------|------------------------------------------------|
 * | WARMBOX_TENANT_RATE           | off     | 10/s, 600/m                      | job submissions, a token bucket                |
 * | WARMBOX_TENANT_BURST          | 1 s of rate | 20                           | the bucket's size                              |
 * | WARMBOX_TENANT_MAX_QUEUED     | off     | 100                              | jobs queued at once (429 above)                |
 * | WARMBOX_TENANT_MAX_RUNNING    | off     | 4                                | jobs running at once, across all workers       |
 * | WARMBOX_TENANT_MAX_MEMORY     | off     | 512m                             | cap on limits.memoryBytes (422 above)          |
 * | WARMBOX_TENANT_MAX_TIME       | off     | 30s                              | cap on limits.wallTimeMs                       |
 * | WARMBOX_TENANT_MAX_CPU_TIME   | off     | 10s                              | cap on limits.cpuTimeMs                        |
 * | WARMBOX_TENANT_MAX_PIDS       | off     | 32                               | cap on limits.pids                             |
 * | WARMBOX_TENANT_IMAGES         | any     | docker.io/library/python*,busybox | images allowed (403 otherwise)                |
 * | WARMBOX_TENANT_NETWORK        | on      | off                              | whether a job may ask for a network            |
 * | WARMBOX_TENANT_RETENTION      | default | 7d                               | the local tenant's retention                   |
 * | WARMBOX_RETENTION             | 30d     | 90d, off                         | every tenant's retention unless its policy sets one |
 */
import { RETENTION_DEFAULT_SECONDS, TENANT_POLICY_BOUNDS } from '../contract/tenant-policy-bounds.js';
import { UNRESTRICTED_POLICY, type TenantPolicy } from '../contract/tenant.js';
import { applyPolicyPatch, parsePolicySettings, POLICY_SETTINGS, type PolicySetting } from '../contract/tenant-policy-text.js';
import { normalizedPattern } from '../contract/image-allow-list.js';
import { checkedPolicy } from '../api/schemas/tenant-policy.js';

export interface TenantConfig {
  localTenantPolicy: TenantPolicy;
  /** Retention of tenants whose policy sets none, in seconds; null: finished jobs are kept. */
  retentionDefaultSeconds: number | null;
}

export function envName(setting: PolicySetting): string {
  return `WARMBOX_TENANT_${setting.toUpperCase().replaceAll('-', '_')}`;
}

export function tenantConfigFromEnv(env: NodeJS.ProcessEnv): TenantConfig {
  const given = Object.fromEntries(POLICY_SETTINGS.map((s) => [s, nonEmpty(env[envName(s)])]));
  let policy: TenantPolicy;
  try {
    const patch = parsePolicySettings(given, envName);
    // Image names as people type them (`busybox`) match the normalized reference a job runs.
    if (patch.images) patch.images = patch.images.map(normalizedPattern);
    policy = checkedPolicy(applyPolicyPatch({ ...UNRESTRICTED_POLICY }, patch));
  } catch (err) {
    throw new Error(`invalid configuration: the local tenant's policy (WARMBOX_TENANT_*): ${(err as Error).message}`, { cause: err });
  }
  return { localTenantPolicy: policy, retentionDefaultSeconds: retentionDefault(nonEmpty(env.WARMBOX_RETENTION)) };
}

function retentionDefault(text: string | undefined): number | null {
  if (text === undefined) return RETENTION_DEFAULT_SECONDS;
  if (text === 'off') return null;
  const { min, max } = TENANT_POLICY_BOUNDS.retentionSeconds;
  let seconds: number | null | undefined;
  try {
    seconds = parsePolicySettings({ retention: text }, () => 'WARMBOX_RETENTION').retentionSeconds;
  } catch (err) {
    throw new Error(`invalid configuration: ${(err as Error).message}`, { cause: err });
  }
  if (typeof seconds !== 'number' || seconds < min || seconds > max) {
    throw new Error(`invalid configuration: WARMBOX_RETENTION=${JSON.stringify(text)}: expected a duration from 1d to ${max / 86_400}d (e.g. 30d), or off`);
  }
  return Math.round(seconds);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
