/** How a job ended. Names are part of the HTTP contract (DESIGN.md); do not rename. */
export const VERDICTS = [
  'ok',
  'nonzero_exit',
  'signaled',
  'time_limit',
  'cpu_time_limit',
  'memory_limit',
  'output_limit',
  'cancelled',
  'internal_error',
  /**
   * The job's run was cut off by something outside it (its worker died or was stopped past its
   * grace period, or Redis lost it) and warmbox will not run it again: a started sandbox job is not
   * idempotent. The result's `error` says what happened. README "When things fail" has the rules.
   */
  'lost',
] as const;

export type Verdict = (typeof VERDICTS)[number];
