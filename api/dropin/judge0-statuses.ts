/**
 * Judge0 CE's statuses (GET /statuses) and how a judge run's verdicts map onto them. Judge0 has no
 * memory-limit or output-limit status: like Judge0 on such a run, they are runtime errors, and the
 * submission's `message` says which limit it was.
 */
import type { JudgeRunView, JudgeTestView } from '../../contract/judge.js';

export const JUDGE0_STATUSES = [
  { id: 1, description: 'In Queue' },
  { id: 2, description: 'Processing' },
  { id: 3, description: 'Accepted' },
  { id: 4, description: 'Wrong Answer' },
  { id: 5, description: 'Time Limit Exceeded' },
  { id: 6, description: 'Compilation Error' },
  { id: 7, description: 'Runtime Error (SIGSEGV)' },
  { id: 8, description: 'Runtime Error (SIGXFSZ)' },
  { id: 9, description: 'Runtime Error (SIGFPE)' },
  { id: 10, description: 'Runtime Error (SIGABRT)' },
  { id: 11, description: 'Runtime Error (NZEC)' },
  { id: 12, description: 'Runtime Error (Other)' },
  { id: 13, description: 'Internal Error' },
  { id: 14, description: 'Exec Format Error' },
] as const;

export type Judge0Status = (typeof JUDGE0_STATUSES)[number];

const byId = (id: Judge0Status['id']): Judge0Status => JUDGE0_STATUSES.find((s) => s.id === id)!;

/** Signals Judge0 names a status after. */
const SIGNAL_STATUS: Record<string, Judge0Status['id']> = { SIGSEGV: 7, SIGXFSZ: 8, SIGFPE: 9, SIGABRT: 10 };

/** The status of a submission run as a judge run of one test. */
export function judge0StatusOf(run: JudgeRunView): Judge0Status {
  if (run.status === 'queued') return byId(1);
  if (run.status === 'running') return byId(2);
  if (run.verdict === 'compile_error') return byId(6);
  const test = run.tests[0];
  if (run.verdict === 'internal_error' || test === undefined) return byId(13);
  return statusOfTest(test);
}

function statusOfTest(test: JudgeTestView): Judge0Status {
  switch (test.verdict) {
    case 'accepted':
      return byId(3);
    case 'wrong_answer':
      return byId(4);
    case 'time_limit':
      return byId(5);
    case 'runtime_error':
      return test.signal ? byId(SIGNAL_STATUS[test.signal] ?? 12) : byId(11);
    case 'memory_limit':
    case 'output_limit':
      return byId(12);
    default:
      return byId(13);
  }
}
