/**
 * Readiness: whether this process can do its work now (GET /readyz, GET /v1/system/status). Each
 * check is bounded (READINESS_CHECK_TIMEOUT_MS), so a Redis that hangs makes the answer late by
 * at most that, never unanswered. The API checks what it needs itself (Redis, the db); a worker
 * in the same process adds its own (the launcher, the cgroup driver) through AppDeps.workerChecks.
 */
import { hostname } from 'node:os';
import { probeDbWrites } from '../db/probe.js';
import { probeRedisWrites } from '../queue/redis-probe.js';
import type { AppDeps } from './deps.js';
import { REQUEST_BOUNDS } from './request-bounds.js';

/** Longest a single check may take before it counts as failed. */
export const READINESS_CHECK_TIMEOUT_MS = 2000;

export interface ReadinessCheck {
  /** `redis`, `db`, `launcher`, `cgroups`. */
  name: string;
  /** Resolves when the part works; throws (or rejects) saying why not. */
  run(): Promise<void> | void;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed; absent when ok. */
  error?: string;
  /** How long it took, milliseconds. */
  ms: number;
}

/** Every check of this process: the API's own, then its worker's. */
export function readinessChecks(deps: AppDeps): ReadinessCheck[] {
  return [...apiChecks(deps), ...(deps.workerChecks ?? [])];
}

/** The API's own checks: Redis takes a write to a key of ours; the db takes a job's write. */
function apiChecks(deps: AppDeps): ReadinessCheck[] {
  const processId = `${hostname()}-${process.pid}`;
  const largestRecord = deps.config.maxBodyBytes ?? REQUEST_BOUNDS.bodyBytes;
  return [
    { name: 'redis', run: () => probeRedisWrites(deps.redis, processId) },
    { name: 'db', run: () => probeDbWrites(deps.db, largestRecord) },
  ];
}

/** Runs every check at once, each within timeoutMs. */
export function runChecks(checks: readonly ReadinessCheck[], timeoutMs = READINESS_CHECK_TIMEOUT_MS): Promise<CheckResult[]> {
  return Promise.all(checks.map((check) => runOne(check, timeoutMs)));
}

async function runOne(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => check.run()), timedOut]);
    return { name: check.name, ok: true, ms: elapsed(t0) };
  } catch (err) {
    return { name: check.name, ok: false, error: describe(err), ms: elapsed(t0) };
  } finally {
    clearTimeout(timer);
  }
}

/** The error and its cause in one line (a DbWriteError's cause says how much room is left). */
function describe(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  return cause && !e.message.includes(cause) ? `${e.message}: ${cause}` : e.message;
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}
