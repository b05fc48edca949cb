/**
 * A tenant's policy as people type it, in `warmbox tenants policy` flags and the local tenant's
 * WARMBOX_TENANT_* variables: `10/s`, `512m`, `30s`, `7d`, `on`/`off`, `docker.io/library/python*,busybox`.
 * Parsing yields a patch (only what was given); applyPolicyPatch lays it over a policy.
 * The result is then validated against TENANT_POLICY_BOUNDS by the API's schema.
 */
import type { Limits } from './limits.js';
import type { TenantPolicy } from './tenant.js';

/** The settings by name (the flag without `--`, the variable without `WARMBOX_TENANT_`, lower-case with dashes). */
export const POLICY_SETTINGS = ['rate', 'burst', 'max-queued', 'max-running', 'max-memory', 'max-time', 'max-cpu-time', 'max-pids', 'images', 'network', 'retention'] as const;
export type PolicySetting = (typeof POLICY_SETTINGS)[number];

/** What changes: a value, or null to remove the cap (`off`; for retention, `default`). */
export interface PolicyPatch {
  rate?: { perSecond: number } | null;
  burst?: number;
  maxQueuedJobs?: number | null;
  maxRunningJobs?: number | null;
  limitCaps?: Partial<Record<keyof Limits, number | null>>;
  images?: string[] | null;
  network?: boolean;
  retentionSeconds?: number | null;
}

export class PolicyTextError extends Error {
  override name = 'PolicyTextError';
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const OFF = new Set(['off', 'none', 'unlimited']);

/** Parses the settings given; `label` names each in errors (`--rate`, `WARMBOX_TENANT_RATE`). */
export function parsePolicySettings(settings: Partial<Record<PolicySetting, string>>, label: (s: PolicySetting) => string): PolicyPatch {
  const patch: PolicyPatch = {};
  for (const [name, text] of Object.entries(settings) as [PolicySetting, string | undefined][]) {
    if (text === undefined) continue;
    try {
      applySetting(patch, name, text.trim());
    } catch (err) {
      throw new PolicyTextError(`${label(name)}=${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  }
  return patch;
}

function applySetting(patch: PolicyPatch, name: PolicySetting, text: string): void {
  const caps = (patch.limitCaps ??= {});
  switch (name) {
    case 'rate': patch.rate = OFF.has(text) ? null : { perSecond: parseRate(text) }; return;
    case 'burst': patch.burst = parseCount(text); return;
    case 'max-queued': patch.maxQueuedJobs = OFF.has(text) ? null : parseCount(text); return;
    case 'max-running': patch.maxRunningJobs = OFF.has(text) ? null : parseCount(text); return;
    case 'max-memory': caps.memoryBytes = OFF.has(text) ? null : parseSize(text); return;
    case 'max-time': caps.wallTimeMs = OFF.has(text) ? null : Math.round(parseSeconds(text, 's') * 1000); return;
    case 'max-cpu-time': caps.cpuTimeMs = OFF.has(text) ? null : Math.round(parseSeconds(text, 's') * 1000); return;
    case 'max-pids': caps.pids = OFF.has(text) ? null : parseCount(text); return;
    case 'images': patch.images = text === '*' || text === 'any' ? null : text.split(',').map((p) => p.trim()).filter((p) => p !== ''); return;
    case 'network': patch.network = parseOnOff(text); return;
    case 'retention': patch.retentionSeconds = text === 'default' ? null : parseSeconds(text, 'd'); return;
  }
}

/** `10/s`, `600/m`, `100/h`, or a bare number of jobs per second. */
function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\s*\/\s*(s|m|h|d))?$/.exec(text);
  if (!m) throw new Error('expected jobs per unit of time, e.g. 10/s, 600/m, 100/h, or off');
  return Number(m[1]) / SECONDS[m[2] ?? 's']!;
}

function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error('expected a whole number (or off)');
  return Number(text);
}

/** `512m`, `1g`, `1048576` (bytes). */
function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text);
  if (!m) throw new Error('expected a size, e.g. 512m, 1g, 1048576 (or off)');
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

/** `30s`, `500ms`, `2h`, `7d`, `1w`; a bare number is in `bareUnit`. */
function parseSeconds(text: string, bareUnit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text);
  if (!m) throw new Error('expected a duration, e.g. 30s, 500ms, 2h, 7d');
  return Number(m[1]) * SECONDS[m[2] ?? bareUnit]!;
}

function parseOnOff(text: string): boolean {
  if (/^(on|true|1|yes)$/i.test(text)) return true;
  if (/^(off|false|0|no)$/i.test(text)) return false;
  throw new Error('expected on or off');
}

/**
 * The policy with the patch laid over it. A new rate keeps the bucket's burst (or, when there was
 * no rate, takes one second's worth of jobs, at least 1); a burst alone needs a rate.
 */
export function applyPolicyPatch(policy: TenantPolicy, patch: PolicyPatch): TenantPolicy {
  const next: TenantPolicy = { ...policy, limitCaps: { ...policy.limitCaps }, images: policy.images && [...policy.images] };
  if (patch.rate !== undefined) {
    next.rate = patch.rate && { perSecond: patch.rate.perSecond, burst: policy.rate?.burst ?? Math.max(1, Math.ceil(patch.rate.perSecond)) };
  }
  if (patch.burst !== undefined) {
    if (next.rate === null) throw new PolicyTextError('a burst needs a rate (give the rate too, e.g. --rate 10/s --burst 20)');
    next.rate = { ...next.rate, burst: patch.burst };
  }
  if (patch.maxQueuedJobs !== undefined) next.maxQueuedJobs = patch.maxQueuedJobs;
  if (patch.maxRunningJobs !== undefined) next.maxRunningJobs = patch.maxRunningJobs;
  for (const [name, cap] of Object.entries(patch.limitCaps ?? {}) as [keyof Limits, number | null][]) {
    if (cap === null) delete next.limitCaps[name];
    else next.limitCaps[name] = cap;
  }
  if (patch.images !== undefined) next.images = patch.images;
  if (patch.network !== undefined) next.network = patch.network;
  if (patch.retentionSeconds !== undefined) next.retentionSeconds = patch.retentionSeconds;
  return next;
}
