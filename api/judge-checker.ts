/**
 * A custom checker, testlib-style: a program run in a sandbox of its own (an ordinary job) for each
 * test the solution finished, with the test's input, the solution's output and the expected output
 * as files in its working directory, named on its command line in testlib's order
 * (`checker input.txt output.txt expected.txt`). Exit 0: accepted; 1: wrong answer; anything else
 * (a crash, a limit, exit 2 for testlib's "presentation error" included): the checker failed, and
 * the test's verdict says so (checker_error), never the solution's. Its message is what it wrote.
 */
import type { JudgeTestView } from '../contract/judge.js';
import type { JobResult } from '../contract/job-payload.js';
import type { JobRequest } from './schemas/job-request.js';
import type { JudgeRequest } from './schemas/judge.js';

export type CheckerSpec = NonNullable<JudgeRequest['checker']>;

/** Runs one job of the judge run: its spec, whether to keep its output as a layer, and its image. */
export type RunJob = (spec: Pick<JobRequest, 'cmd' | 'stdin' | 'files' | 'limits'>, captureLayer: boolean, image: string) => Promise<JobResult>;

/** The message a checker leaves: its stderr (testlib writes there), else its stdout; at most this many characters. */
const MESSAGE_CHARS = 1024;

export const CHECKER_FILES = { input: 'input.txt', output: 'output.txt', expected: 'expected.txt' } as const;

export async function runChecker(
  runJob: RunJob,
  checker: CheckerSpec,
  image: string,
  built: boolean,
  data: { input: Buffer; output: Buffer; expected: Buffer },
): Promise<Pick<JudgeTestView, 'verdict' | 'message'>> {
  const file = (path: string, bytes: Buffer) => ({ path, content: bytes.toString('base64'), encoding: 'base64' as const, mode: 0o644 });
  const files = [
    ...(built ? [] : (checker.files ?? [])),
    file(CHECKER_FILES.input, data.input),
    file(CHECKER_FILES.output, data.output),
    file(CHECKER_FILES.expected, data.expected),
  ];
  const cmd = [...checker.run, CHECKER_FILES.input, CHECKER_FILES.output, CHECKER_FILES.expected];
  const result = await runJob({ cmd, files, limits: checker.limits }, false, image);
  const message = messageOf(result);
  if (result.verdict === 'ok') return { verdict: 'accepted', ...(message && { message }) };
  if (result.verdict === 'nonzero_exit' && result.exitCode === 1) return { verdict: 'wrong_answer', message: message || 'the checker says: wrong answer' };
  const how = result.verdict === 'nonzero_exit' ? `exit code ${result.exitCode}` : result.verdict === 'signaled' ? `killed by ${result.signal}` : result.verdict;
  return { verdict: 'checker_error', message: `the checker failed (${how})${message ? `: ${message}` : ''}` };
}

function messageOf(result: JobResult): string {
  const text = (t: string, encoding: 'base64' | undefined) => (encoding === 'base64' ? Buffer.from(t, 'base64').toString('utf8') : t);
  const said = text(result.stderr, result.stderrEncoding).trim() || text(result.stdout, result.stdoutEncoding).trim();
  return said.length > MESSAGE_CHARS ? `${said.slice(0, MESSAGE_CHARS)}…` : said;
}
