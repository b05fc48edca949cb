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
] as const;

export type Verdict = (typeof VERDICTS)[number];
