/**
 * A tenant's running cap (TenantPolicy.maxRunningJobs) across all workers: a worker takes a slot
 * for a job when it starts it and gives it back when the job ends. A slot is a lease (the sorted
 * set tenantRunningKey: job id → when its lease ends, on Redis's clock) that the worker renews
 * while the job runs; a dead worker stops renewing, so its slots come back within LEASE_MS (and at
 * once when the reconcile sweep finishes its jobs `lost`). Each call is one Lua script, one round trip.
 */
import type { Redis } from 'ioredis';
import { tenantRunningKey } from './redis-keys.js';

/** How long a slot holds without renewal; renewed every RENEW_MS. */
export const RUNNING_SLOT_LEASE_MS = 30_000;
const RENEW_MS = 5_000;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS[1] the tenant's slots. ARGV[1] job id, ARGV[2] the cap, ARGV[3] lease ms. Drops expired
 * leases, then takes a slot if fewer than the cap are held (a job that holds one already keeps it,
 * renewed). Returns 1 when the job holds a slot, 0 when the tenant is at its cap.
 */
const TAKE = `${NOW}
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/** KEYS[1] the tenant's slots. ARGV[1] lease ms, ARGV[2..] job ids: each slot still held is extended. */
const RENEW = `${NOW}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease)
return 0
`;

/** Gives a slot back; harmless when the job holds none. */
export async function releaseRunningSlot(redis: Redis, tenantId: string, jobId: string): Promise<void> {
  await redis.zrem(tenantRunningKey(tenantId), jobId);
}

/** The slots this worker holds, renewed while their jobs run. */
export class RunningSlots {
  /** tenant id → job ids whose slots this worker holds. */
  private readonly held = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly onRenewFailed: (err: unknown) => void,
    private readonly leaseMs = RUNNING_SLOT_LEASE_MS,
  ) {
    this.timer = setInterval(() => void this.renew().catch(onRenewFailed), Math.min(RENEW_MS, leaseMs / 3));
    this.timer.unref();
  }

  /** True when the job now holds one of its tenant's `cap` slots. */
  async take(tenantId: string, jobId: string, cap: number): Promise<boolean> {
    const taken = (await this.redis.eval(TAKE, 1, tenantRunningKey(tenantId), jobId, cap, this.leaseMs)) === 1;
    if (taken) this.jobsOf(tenantId).add(jobId);
    return taken;
  }

  async release(tenantId: string, jobId: string): Promise<void> {
    const jobs = this.held.get(tenantId);
    jobs?.delete(jobId);
    if (jobs?.size === 0) this.held.delete(tenantId);
    await releaseRunningSlot(this.redis, tenantId, jobId);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    const tenants = [...this.held].filter(([, jobs]) => jobs.size > 0);
    if (tenants.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [tenantId, jobs] of tenants) pipeline.eval(RENEW, 1, tenantRunningKey(tenantId), this.leaseMs, ...jobs);
    await pipeline.exec();
  }

  private jobsOf(tenantId: string): Set<string> {
    let jobs = this.held.get(tenantId);
    if (jobs === undefined) this.held.set(tenantId, (jobs = new Set()));
    return jobs;
  }
}
