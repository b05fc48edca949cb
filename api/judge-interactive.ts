/**
 * Interactive problems, testlib-style: each test is one job of an interactive pair
 * (contract/job-payload.ts JobPayload.interactor), which one worker runs as two sandboxes whose
 * stdin and stdout are connected (worker/interactive-pair.ts). The interactor gets the test's input
 * and answer as files in its working directory, named on its command line in testlib's order
 * (`interactor input.txt output.txt answer.txt`; output.txt is where testlib's interactor may write
 * for a checker, unused here). The verdict, in this order:
 *
 * 1. the solution broke one of its limits (time, memory, output): that limit, whatever the
 *    interactor said (it saw the solution stall or vanish);
 * 2. the interactor crashed, hit one of its own limits (one that hangs meets its wall limit) or
 *    exited neither 0 nor 1: interactor_error, never the solution's fault;
 * 3. the interactor exited 1: wrong_answer, its stderr the message (a solution that exits early
 *    leaves it reading EOF);
 * 4. the solution exited non-zero or was killed by a signal: runtime_error;
 * 5. both exited 0: accepted.
 */
import type { Tenant } from '../contract/tenant.js';
import type { JudgeTestView } from '../contract/judge.js';
import { withDefaults } from '../contract/limits.js';
import type { InteractorPayload, InteractorResult, JobResult } from '../contract/job-payload.js';
import { verdictOfRun } from '../contract/judge.js';
import { ApiError } from './errors.js';
import { toJobFile } from './job-payload-from-request.js';
import type { JobRequest } from './schemas/job-request.js';
import type { JudgeRequest } from './schemas/judge.js';
import { cappedLimits, checkJobAgainstPolicy } from './tenant-policy-checks.js';

export type InteractorSpec = NonNullable<JudgeRequest['interactor']>;

export const INTERACTOR_FILES = { input: 'input.txt', output: 'output.txt', answer: 'answer.txt' } as const;

/** The message an interactor leaves (its stderr), at most this many characters. */
const MESSAGE_CHARS = 1024;

/** The solution's verdicts that stand whatever the interactor said: it broke a limit. */
const SOLUTION_LIMITS = new Set<JobResult['verdict']>(['time_limit', 'cpu_time_limit', 'memory_limit', 'output_limit']);

/** A request that gives an interactor and a checker: 422 (the interactor decides the verdict itself). */
export function checkInteractorRequest(request: JudgeRequest): void {
  if (request.interactor !== undefined && request.checker !== undefined) {
    throw new ApiError(422, 'invalid_request', 'give a checker or an interactor, not both: the interactor decides the verdict itself', { field: 'interactor' });
  }
}

/** The interactor's image and limits against the tenant's policy before anything runs (403/422). */
export function checkInteractorPolicy(tenant: Tenant, spec: InteractorSpec, reference: string): void {
  checkJobAgainstPolicy(tenant.policy, { image: reference, limits: spec.limits, network: 'none' } as JobRequest, reference);
}

/** The other side of one test's pair: the interactor's command, files and limits. */
export function interactorPayload(spec: InteractorSpec, tenant: Tenant, image: string, built: boolean, data: { input: Buffer; answer: Buffer }): InteractorPayload {
  const file = (path: string, bytes: Buffer) => ({ path, contentBase64: bytes.toString('base64'), mode: 0o644 });
  // Built: its files went into its build layer.
  const ownFiles = built ? [] : (spec.files ?? []).map(toJobFile);
  return {
    image,
    cmd: [...spec.run, INTERACTOR_FILES.input, INTERACTOR_FILES.output, INTERACTOR_FILES.answer],
    files: [...ownFiles, file(INTERACTOR_FILES.input, data.input), file(INTERACTOR_FILES.answer, data.answer)],
    limits: cappedLimits(withDefaults(spec.limits), spec.limits, tenant.policy.limitCaps),
  };
}

/** A finished pair's test verdict (the order above). */
export function verdictOfPair(result: JobResult): Pick<JudgeTestView, 'verdict' | 'message'> {
  const solution = verdictOfRun(result);
  if (solution?.verdict === 'internal_error') return solution;
  if (SOLUTION_LIMITS.has(result.verdict)) return solution!;
  const interactor = result.interactor;
  if (interactor === undefined) return { verdict: 'internal_error', message: 'the job ran without its interactor' };
  const message = messageOf(interactor);
  if (interactor.verdict === 'internal_error' || interactor.verdict === 'lost' || interactor.verdict === 'cancelled') {
    return { verdict: 'internal_error', message: `the interactor's sandbox failed: ${interactor.error ?? interactor.verdict}` };
  }
  if (interactor.verdict === 'nonzero_exit' && interactor.exitCode === 1) return { verdict: 'wrong_answer', message: message || 'the interactor says: wrong answer' };
  if (interactor.verdict !== 'ok') return { verdict: 'interactor_error', message: `the interactor failed (${howItEnded(interactor)})${message ? `: ${message}` : ''}` };
  if (solution !== undefined) return solution;
  return { verdict: 'accepted', ...(message && { message }) };
}

function howItEnded(r: InteractorResult): string {
  switch (r.verdict) {
    case 'nonzero_exit':
      return `exit code ${r.exitCode}`;
    case 'signaled':
      return `killed by ${r.signal}`;
    case 'time_limit':
      return `its wall time limit, ${Math.round(r.usage.wallTimeMs)} ms`;
    case 'cpu_time_limit':
      return `its CPU time limit, ${Math.round(r.usage.cpuTimeMs)} ms`;
    default:
      return `its ${r.verdict.replace('_', ' ')}`;
  }
}

function messageOf(r: InteractorResult): string {
  const said = (r.stderrEncoding === 'base64' ? Buffer.from(r.stderr, 'base64').toString('utf8') : r.stderr).trim();
  return said.length > MESSAGE_CHARS ? `${said.slice(0, MESSAGE_CHARS)}…` : said;
}
