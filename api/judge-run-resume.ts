/**
 * Keeps judge runs going whatever process dies (README "Judge runs"). Every API process runs one
 * keeper: every LEASE_RENEW_MS it renews the leases of the runs it drives, and takes over the
 * unfinished runs whose lease ran out (their process died, or stopped and let them go), one
 * guarded write deciding which process gets each (db/judge-runs.ts takeOverJudgeRun); it then drives
 * each from where the db says it stands (api/judge-run.ts resumeJudgeRun). A run that cannot be
 * resumed (recorded by a warmbox without judge_runs.input, its tenant deleted, a blob of its tests
 * gone) is finished `internal_error`, saying why, rather than left running.
 */
import type { JudgeRunView } from '../contract/judge.js';
import { finishJudgeRun, orphanedJudgeRuns, releaseJudgeRunLeases, renewJudgeRunLeases, takeOverJudgeRun } from '../db/judge-runs.js';
import type { JudgeRunRow } from '../db/schema.js';
import { tenantOf } from '../db/tenants.js';
import type { AppDeps } from './deps.js';
import { drivenRuns, JUDGE_RUN_OWNER, leaseFromNow, LEASE_RENEW_MS } from './judge-run-lease.js';
import { runDeliveries } from './judge-run-finish.js';
import { resumeJudgeRun } from './judge-run.js';

/** Runs taken over in one sweep at most; the next sweep takes more. */
const TAKE_OVER_BATCH = 20;

export class JudgeRunKeeper {
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly deps: AppDeps) {}

  /** Sweeps now (a restarted process picks up what it can at once), then every LEASE_RENEW_MS. */
  static start(deps: AppDeps): JudgeRunKeeper {
    const keeper = new JudgeRunKeeper(deps);
    keeper.sweep();
    keeper.timer = setInterval(() => keeper.sweep(), LEASE_RENEW_MS).unref();
    return keeper;
  }

  /** Renews this process's leases, then takes over the orphaned runs; returns the ids taken over. */
  sweep(): string[] {
    const { db, logger } = this.deps;
    try {
      renewJudgeRunLeases(db, JUDGE_RUN_OWNER, [...drivenRuns], leaseFromNow());
      if (this.closed || this.deps.stopping?.()) return [];
      const now = Date.now();
      const taken: string[] = [];
      for (const id of orphanedJudgeRuns(db, now, TAKE_OVER_BATCH)) {
        const row = takeOverJudgeRun(db, id, JUDGE_RUN_OWNER, now, leaseFromNow(now));
        if (row === undefined) continue;
        taken.push(id);
        logger.info({ judgeRun: id, previousStatus: row.view.status }, 'judge run taken over: its process is gone; resuming it');
        void this.resume(row);
      }
      return taken;
    } catch (err) {
      logger.error({ err }, 'judge run keeper: sweep failed; the next one tries again');
      return [];
    }
  }

  private async resume(row: JudgeRunRow): Promise<void> {
    const tenant = tenantOf(this.deps.db, row.tenantId, this.deps.config.localTenantPolicy);
    if (tenant === undefined) return this.abandon(row.view, `its tenant ${row.tenantId} was deleted`);
    if (row.input === null) return this.abandon(row.view, 'it was recorded by a warmbox that did not keep what a run needs to resume');
    drivenRuns.add(row.id); // renewed while its tests are read back
    try {
      await resumeJudgeRun(this.deps, tenant, row.input, structuredClone(row.view));
    } catch (err) {
      this.abandon(row.view, err instanceof Error ? err.message : String(err));
    } finally {
      drivenRuns.delete(row.id);
    }
  }

  /** Finishes a run that cannot go on: internal_error, with why. */
  private abandon(view: JudgeRunView, why: string): void {
    this.deps.logger.error({ judgeRun: view.id, why }, 'judge run cannot be resumed: finished internal_error');
    const finished: JudgeRunView = { ...view, status: 'finished', verdict: 'internal_error', error: `the run was taken over after its process died, but ${why}`, finishedAt: new Date().toISOString() };
    try {
      finishJudgeRun(this.deps.db, finished, JUDGE_RUN_OWNER, Date.now(), runDeliveries(this.deps, finished));
    } catch (err) {
      this.deps.logger.error({ err, judgeRun: view.id }, 'judge run could not be finished; another sweep takes it over');
    }
  }

  /** Stops sweeping and lets go of this process's runs, so that another process takes them over at its next sweep. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    try {
      releaseJudgeRunLeases(this.deps.db, JUDGE_RUN_OWNER);
    } catch (err) {
      this.deps.logger.warn({ err }, 'judge run leases not released; they run out');
    }
  }
}
