/**
 * Who drives a judge run: the API process that holds its lease in the db (judge_runs.owner and
 * lease_until). The owner renews it every LEASE_RENEW_MS; a run whose lease ran out (its process
 * died, or stopped) is taken over by the next sweep of any API process (api/judge-run-resume.ts),
 * one guarded write deciding which. Every write of a run is guarded by its owner, so a process that
 * lost its run (paused past its lease) can no longer change it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This process as a run's owner: unique even when a pid comes again after a restart. */
export const JUDGE_RUN_OWNER = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;

/** How long a lease holds without renewal: how long an orphaned run waits before it is taken over. */
export const LEASE_MS = 15_000;

/** How often an owner renews its leases and looks for orphaned runs: a few times per lease. */
export const LEASE_RENEW_MS = 3_000;

export const leaseFromNow = (now = Date.now()): number => now + LEASE_MS;

/**
 * The runs this process is driving now: only their leases are renewed, so a run whose driver ended
 * without finishing it (a failed write) is orphaned and taken over, not held for ever.
 */
export const drivenRuns = new Set<string>();

/** Thrown inside a run's driver once another process took it over: this one stops, without a verdict. */
export class JudgeRunLeaseLost extends Error {
  override name = 'JudgeRunLeaseLost';
  constructor(runId: string) {
    super(`judge run ${runId} was taken over by another process`);
  }
}
