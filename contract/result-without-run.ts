/** One shape for the results of jobs that never ran a command. */
import type { JobResult } from './job-payload.js';

/** The result of a job cancelled before it reached a sandbox: nothing ran. */
export function cancelledBeforeStart(): JobResult {
  return resultWithoutRun('cancelled');
}

/** A result for a job that never ran a command (cancelled first, could not start, failed inside warmbox, or lost). */
export function resultWithoutRun(verdict: 'cancelled' | 'internal_error' | 'lost' | 'nonzero_exit'): JobResult {
  return {
    verdict,
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    usage: { cpuTimeMs: 0, wallTimeMs: 0, memoryPeakBytes: 0 },
    start: 'cold',
    timings: { queuedMs: 0, pullMs: 0, acquireMs: 0, runMs: 0, totalMs: 0 },
  };
}
