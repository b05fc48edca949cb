/**
 * What became of the jobs a fault test got accepted: each one must reach a final state, once.
 *
 *   const outcomes = await settle(server.url, load.accepted);
 *   outcomes.runTwice = runTwice(logFiles);
 *   printOutcomes('SIGKILL of the server', outcomes);
 *   assertNothingLost(outcomes);
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Outcomes {
  accepted: number;
  finished: number;
  /** Finished jobs by verdict. */
  verdicts: Record<string, number>;
  /** The `error` of jobs that ended lost or internal_error, by text (ids and numbers elided). */
  reasons: Record<string, number>;
  /** Accepted jobs that never reached a final state within the bound: must be none. */
  lost: string[];
  /** Jobs a worker started more than once: must be none. */
  runTwice: string[];
  /** Processes, cgroups and mounts left behind: must be none. */
  leftovers: string[];
  /** Submissions refused, by error code. */
  refused: Record<string, number>;
  /** Every finished job, by id. */
  jobs: Map<string, JobView>;
}

export interface JobView {
  status: string;
  labels?: Record<string, string>;
  result?: { verdict: string; error?: string; timings?: { totalMs: number } };
}

/** Polls every accepted job until all are finished or boundMs has passed. */
export async function settle(url: string, ids: readonly string[], boundMs = 180_000): Promise<Outcomes> {
  const pending = new Set(ids);
  const done = new Map<string, JobView>();
  for (const deadline = Date.now() + boundMs; pending.size > 0 && Date.now() < deadline; await sleep(250)) {
    for (const chunk of chunks([...pending], 16)) {
      await Promise.all(chunk.map(async (id) => {
        const job = await getJob(url, id);
        if (job?.status === 'finished') {
          done.set(id, job);
          pending.delete(id);
        }
      }));
    }
  }
  const verdicts: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  for (const job of done.values()) {
    const verdict = job.result?.verdict ?? 'none';
    verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
    if (job.result?.error) {
      const reason = `${verdict}: ${job.result.error.replace(/[0-9a-f]{8,}|\d+/gi, 'N')}`;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  return { accepted: ids.length, finished: done.size, verdicts, reasons, lost: [...pending], runTwice: [], leftovers: [], refused: {}, jobs: done };
}

async function getJob(url: string, id: string): Promise<JobView | undefined> {
  try {
    const res = await fetch(`${url}/v1/jobs/${id}`, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? ((await res.json()) as JobView) : undefined;
  } catch {
    return undefined; // the server is busy or restarting: asked again on the next round
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Jobs that a worker started more than once, from the servers' logs (WARMBOX_LOG_LEVEL=debug):
 * the worker logs `job started` as it marks a job running, just before its sandbox runs it.
 */
export function runTwice(logFiles: readonly string[]): string[] {
  const starts = new Map<string, number>();
  for (const file of logFiles) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('"job started"')) continue;
      const id = (JSON.parse(line) as { job?: string }).job;
      if (id) starts.set(id, (starts.get(id) ?? 0) + 1);
    }
  }
  return [...starts].filter(([, n]) => n > 1).map(([id]) => id);
}

/** One line a reader of the test output can compare across runs and machines. */
export function printOutcomes(scenario: string, o: Outcomes): void {
  const failed = Object.entries(o.verdicts).filter(([v]) => v !== 'ok').map(([v, n]) => `${v} ${n}`).join(', ') || 'none';
  console.log(
    `# fault: ${scenario}: accepted ${o.accepted}, finished ${o.finished} (ok ${o.verdicts.ok ?? 0}; failed with reason: ${failed}), ` +
      `silently lost ${o.lost.length}, run twice ${o.runTwice.length}, leftovers ${o.leftovers.length}; refused ${JSON.stringify(o.refused)}`,
  );
  for (const [reason, n] of Object.entries(o.reasons)) console.log(`#   ${n} × ${reason}`);
}

export function assertNothingLost(o: Outcomes): void {
  assert.ok(o.accepted > 0, 'the load must have had jobs accepted, or the scenario proves nothing');
  assert.deepEqual(o.lost, [], `${o.lost.length} accepted jobs never reached a final state`);
  assert.deepEqual(o.runTwice, [], 'jobs started twice');
  assert.deepEqual(o.leftovers, [], 'left behind');
}
