/**
 * Tenants: who a request acts for. Every job, trigger, blob and judge run belongs to one, and a
 * tenant sees only its own. A tenant's policy bounds what it may ask of warmbox (README "Tenants
 * and keys"). With auth off (loopback only) every request acts for the built-in `local` tenant.
 */
import type { Limits } from './limits.js';

/** The tenant of every request when auth is off, and of everything recorded before tenants existed. */
export const LOCAL_TENANT_ID = 'local';

export interface TenantPolicy {
  /** Job submissions: a token bucket refilled at `perSecond`, holding at most `burst`; null: unlimited. */
  rate: { perSecond: number; burst: number } | null;
  /** Most jobs the tenant may have queued at once (429 above); null: no cap beyond the server's. */
  maxQueuedJobs: number | null;
  /** Most jobs of the tenant running at once (the rest wait in the queue); null: no cap. */
  maxRunningJobs: number | null;
  /** The largest value of each limit a job of the tenant may ask for (422 above); absent: the server's maximum. */
  limitCaps: Partial<Limits>;
  /** Image references the tenant may run (`prefix*` matches a prefix); null: any image. */
  images: string[] | null;
  /** Whether the tenant's jobs may have networking turned on. */
  network: boolean;
  /** Finished jobs, their output and deliveries are pruned this many seconds after they finish; null: kept. */
  retentionSeconds: number | null;
}

export interface Tenant {
  id: string;
  name: string;
  policy: TenantPolicy;
}

/** What a tenant may do when nothing narrower is configured: everything the server allows. */
export const UNRESTRICTED_POLICY: Readonly<TenantPolicy> = Object.freeze({
  rate: null,
  maxQueuedJobs: null,
  maxRunningJobs: null,
  limitCaps: {},
  images: null,
  network: true,
  retentionSeconds: null,
});
