import type { LauncherResult } from './launcher-protocol.js';
import type { Verdict } from '../contract/verdict.js';

/**
 * Decides how a job ended from the launcher's evidence. An OOM kill is known from the cgroup's
 * oom_kill counter, never guessed from SIGKILL or exit code 137 (Judge0 #298).
 */
export function verdictOf(r: LauncherResult): Verdict {
  if (r.limit === 'cancel') return 'cancelled';
  if (r.oomKills > 0) return 'memory_limit';
  if (r.limit === 'wall') return 'time_limit';
  if (r.limit === 'cpu') return 'cpu_time_limit';
  if (r.limit === 'output') return 'output_limit';
  if (r.status === 'killed') return 'internal_error';
  if (r.status === 'signaled') return r.signal === SIGXCPU ? 'cpu_time_limit' : 'signaled';
  return r.code === 0 ? 'ok' : 'nonzero_exit';
}

/**
 * What went wrong, for a job that ends `internal_error` with a report (the launcher saw the sandbox
 * fail under the job; a supervisor that dies reports nothing, and the run fails instead).
 */
export function internalErrorOf(r: LauncherResult): string | undefined {
  if (verdictOf(r) !== 'internal_error') return undefined;
  return "the sandbox's init died before the job ended; every process of the sandbox died with it";
}

/** RLIMIT_CPU, the per-process backstop of the CPU limit, ends a process with SIGXCPU. */
const SIGXCPU = 24;
