/**
 * Judge runs: what GET /v1/judge/{id} shows, and how a test's job result becomes its verdict. A
 * run builds once (a job whose output is kept as a layer, contract/job-payload.ts BuiltLayer), then
 * runs each test as an ordinary job of image + build layer and compares its output.
 */
import type { JobResult } from './job-payload.js';

export const TEST_VERDICTS = [
  'accepted',
  'wrong_answer',
  'time_limit',
  'memory_limit',
  'runtime_error',
  'output_limit',
  /** Not run: an earlier test failed and the run stops on the first failure. */
  'skipped',
  /** The custom checker crashed, hit a limit or exited neither 0 nor 1: not the solution's fault. */
  'checker_error',
  /** The interactor of an interactive problem crashed, hit a limit or exited neither 0 nor 1: not the solution's fault. */
  'interactor_error',
  /** warmbox failed (the job ended internal_error, lost or cancelled): not the solution's fault. */
  'internal_error',
] as const;
export type TestVerdict = (typeof TEST_VERDICTS)[number];

export const RUN_VERDICTS = [...TEST_VERDICTS.filter((v) => v !== 'skipped'), 'compile_error'] as const;
export type RunVerdict = (typeof RUN_VERDICTS)[number];

export interface Usage {
  cpuTimeMs: number;
  wallTimeMs: number;
  memoryPeakBytes: number;
}

export interface JudgeTestView {
  index: number;
  status: 'pending' | 'running' | 'finished';
  verdict?: TestVerdict;
  /** The job that ran the test (GET /v1/jobs/{id} shows its output). */
  jobId?: string;
  exitCode?: number | null;
  signal?: string | null;
  usage?: Usage;
  /** Why it is not accepted: the first difference, the limit hit, the exit code or signal. */
  message?: string;
}

export interface JudgeBuildView {
  status: 'pending' | 'running' | 'finished';
  jobId?: string;
  /** ok, or compile_error (the build failed or hit a limit: its output says why). */
  verdict?: 'ok' | 'compile_error' | 'internal_error';
  exitCode?: number | null;
  signal?: string | null;
  /** The compiler's stdout then stderr, as the build job recorded them. */
  output?: string;
  usage?: Usage;
  /** The build's output as a layer on the image: the image every test ran in. */
  layer?: string;
  image?: string;
}

export interface JudgeRunView {
  id: string;
  status: 'queued' | 'running' | 'finished';
  language?: string;
  image: string;
  createdAt: string;
  finishedAt?: string;
  /** The first failing test's verdict, compile_error, or accepted when every test passed. */
  verdict?: RunVerdict;
  build?: JudgeBuildView;
  tests: JudgeTestView[];
  passed: number;
  /** For internal_error: what went wrong. */
  error?: string;
}

/**
 * What a run was asked to do, as it was accepted (api/judge-run.ts writes it with the run and reads
 * it back when a process takes the run over): the validated request and its plan (commands, images).
 */
export interface JudgeRunInput {
  request: Record<string, unknown>;
  plan: Record<string, unknown>;
}

/** A finished test job's verdict before its output is compared (undefined: it exited 0, compare it). */
export function verdictOfRun(result: JobResult): { verdict: TestVerdict; message: string } | undefined {
  switch (result.verdict) {
    case 'ok':
      return undefined;
    case 'time_limit':
      return { verdict: 'time_limit', message: `wall time limit (${Math.round(result.usage.wallTimeMs)} ms)` };
    case 'cpu_time_limit':
      return { verdict: 'time_limit', message: `CPU time limit (${Math.round(result.usage.cpuTimeMs)} ms)` };
    case 'memory_limit':
      return { verdict: 'memory_limit', message: `memory limit (peak ${result.usage.memoryPeakBytes} bytes)` };
    case 'output_limit':
      return { verdict: 'output_limit', message: 'output limit' };
    case 'nonzero_exit':
      return { verdict: 'runtime_error', message: `exit code ${result.exitCode}` };
    case 'signaled':
      return { verdict: 'runtime_error', message: `killed by ${result.signal}` };
    default:
      return { verdict: 'internal_error', message: result.error ?? result.verdict };
  }
}

/** The run's verdict: compile_error, else the first test that is not accepted (in order), else accepted. */
export function runVerdictOf(tests: readonly JudgeTestView[]): RunVerdict {
  for (const t of tests) if (t.verdict !== undefined && t.verdict !== 'accepted' && t.verdict !== 'skipped') return t.verdict;
  return 'accepted';
}
