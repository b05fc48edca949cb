/**
 * A Judge0 CE submission as a judge run of one test: its request (Judge0's attribute names and
 * units: seconds, kilobytes) turned into a JudgeRequest, and a run turned back into Judge0's
 * submission attributes. Judge0 compares `expected_output` with stdout after stripping trailing
 * whitespace from each line and from the end: warmbox's `trailing_whitespace` comparison.
 */
import { isUtf8 } from 'node:buffer';
import { constants } from 'node:os';
import { z } from 'zod';
import type { JudgeRunView } from '../../contract/judge.js';
import type { WarmboxDb } from '../../db/client.js';
import type { Judge0Language } from './judge0-languages.js';
import { judge0StatusOf } from './judge0-statuses.js';
import { jobOutput, words } from './run-output.js';

const KiB = 1024;
const seconds = z.coerce.number().positive();
const kilobytes = z.coerce.number().int().positive();

/** Judge0's create attributes; numbers may come as strings, as Judge0 takes them. */
export const judge0SubmissionSchema = z.object({
  source_code: z.string({ error: "can't be blank" }),
  language_id: z.coerce.number({ error: "can't be blank" }).int(),
  compiler_options: z.string().max(128).nullish(),
  command_line_arguments: z.string().max(128).nullish(),
  stdin: z.string().nullish(),
  expected_output: z.string().nullish(),
  cpu_time_limit: seconds.nullish(),
  cpu_extra_time: z.coerce.number().min(0).nullish(),
  wall_time_limit: seconds.nullish(),
  memory_limit: kilobytes.nullish(),
  stack_limit: kilobytes.nullish(),
  max_processes_and_or_threads: z.coerce.number().int().positive().nullish(),
  enable_per_process_and_thread_time_limit: z.boolean().nullish(),
  enable_per_process_and_thread_memory_limit: z.boolean().nullish(),
  max_file_size: kilobytes.nullish(),
  redirect_stderr_to_stdout: z.boolean().nullish(),
  number_of_runs: z.coerce.number().int().positive().nullish(),
  callback_url: z.url().nullish(),
  enable_network: z.boolean().nullish(),
  additional_files: z.string().nullish(),
});

export type Judge0Submission = z.infer<typeof judge0SubmissionSchema>;

/** The attributes a Judge0 client base64-encodes with `base64_encoded=true`, in and out. */
export const ENCODED_IN = ['source_code', 'stdin', 'expected_output'] as const;

/** Judge0's 422 body: each bad attribute with its messages. */
export type Judge0Errors = Record<string, string[]>;

export function judge0Errors(error: z.ZodError): Judge0Errors {
  const errors: Judge0Errors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'base');
    (errors[field] ??= []).push(issue.message);
  }
  return errors;
}

/** The judge run a submission is: build (the language's, with compiler_options) once, one test. */
/** Unvalidated: the caller validates it with judgeRequestSchema (warmbox's bounds, defaults). */
export function toJudgeRequest(s: Judge0Submission, language: Judge0Language): Record<string, unknown> {
  const preset = language.preset;
  const run = [...preset.run, ...words(s.command_line_arguments)];
  const limits = {
    ...(s.cpu_time_limit != null && { cpuTimeMs: Math.ceil((s.cpu_time_limit + (s.cpu_extra_time ?? 0)) * 1000) }),
    ...(s.wall_time_limit != null && { wallTimeMs: Math.ceil(s.wall_time_limit * 1000) }),
    ...(s.memory_limit != null && { memoryBytes: s.memory_limit * KiB }),
    ...(s.max_processes_and_or_threads != null && { pids: s.max_processes_and_or_threads }),
    ...(s.max_file_size != null && { fileSizeBytes: s.max_file_size * KiB }),
    ...(s.stack_limit != null && { stackBytes: s.stack_limit * KiB }),
  };
  return {
    language: preset.id,
    source: s.source_code,
    ...(preset.build && s.compiler_options && { build: [...preset.build, ...words(s.compiler_options)] }),
    // Judge0 runs the program through a shell script; merging stderr needs one too.
    run: s.redirect_stderr_to_stdout ? ['sh', '-c', 'exec "$@" 2>&1', 'sh', ...run] : run,
    tests: [{ stdin: s.stdin ?? '', ...(s.expected_output != null && { expected: s.expected_output }) }],
    limits,
    compare: { mode: 'trailing_whitespace' },
    stopOnFirstFailure: true,
  };
}

/** GET /submissions/{token} without `fields`. */
export const DEFAULT_FIELDS = ['stdout', 'time', 'memory', 'stderr', 'token', 'compile_output', 'message', 'status'];

/** Attributes that hold program text: base64 with `base64_encoded=true`, and refused as text when not UTF-8. */
const TEXT_FIELDS = new Set(['source_code', 'stdin', 'expected_output', 'stdout', 'stderr', 'compile_output', 'message']);

export class NotUtf8Error extends Error {
  constructor() {
    super('some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true');
  }
}

/** Every attribute of a submission Judge0 shows, as raw values (Buffers for program text). */
export async function submissionAttributes(db: WarmboxDb, token: string, s: Judge0Submission, run: JudgeRunView): Promise<Record<string, unknown>> {
  const test = run.tests[0];
  const output = await jobOutput(db, test?.jobId);
  const build = run.build?.jobId === undefined ? undefined : await jobOutput(db, run.build.jobId);
  const status = judge0StatusOf(run);
  const compiled = run.verdict === 'compile_error';
  const usage = compiled ? undefined : test?.usage;
  return {
    ...s,
    source_code: Buffer.from(s.source_code),
    stdin: s.stdin == null ? null : Buffer.from(s.stdin),
    expected_output: s.expected_output == null ? null : Buffer.from(s.expected_output),
    token,
    stdout: nonEmpty(output?.stdout),
    stderr: nonEmpty(output?.stderr),
    compile_output: build && nonEmpty(Buffer.concat([build.stdout, build.stderr])),
    message: messageOf(run, status.id),
    exit_code: compiled || test?.verdict === undefined ? null : (test.exitCode ?? null),
    exit_signal: test?.signal ? (constants.signals[test.signal as keyof typeof constants.signals] ?? null) : null,
    status: { id: status.id, description: status.description },
    status_id: status.id,
    language_id: s.language_id,
    created_at: run.createdAt,
    finished_at: run.finishedAt ?? null,
    time: usage ? (usage.cpuTimeMs / 1000).toFixed(3) : null,
    wall_time: usage ? (usage.wallTimeMs / 1000).toFixed(3) : null,
    memory: usage ? Math.round(usage.memoryPeakBytes / KiB) : null,
  };
}

function nonEmpty(bytes: Buffer | undefined): Buffer | null {
  return bytes === undefined || bytes.length === 0 ? null : bytes;
}

/** Judge0's message: why a run is not accepted (the limit, the exit status), or what failed inside warmbox. */
function messageOf(run: JudgeRunView, statusId: number): Buffer | null {
  if (statusId === 13) return Buffer.from(run.error ?? run.tests[0]?.message ?? 'internal error');
  const message = run.tests[0]?.message;
  return statusId >= 5 && statusId !== 6 && message ? Buffer.from(message) : null;
}

/** The attributes a client asked for (`fields`, `*` for all), program text as base64 or as UTF-8 text. */
export function serialize(attributes: Record<string, unknown>, fields: string[], base64: boolean): Record<string, unknown> {
  const names = fields.includes('*') ? Object.keys(attributes) : fields.filter((f) => f in attributes);
  const shown: Record<string, unknown> = {};
  for (const name of names) {
    const value = attributes[name];
    if (!(Buffer.isBuffer(value) && TEXT_FIELDS.has(name))) {
      shown[name] = value ?? null;
      continue;
    }
    if (base64) shown[name] = value.toString('base64');
    else if (isUtf8(value)) shown[name] = value.toString('utf8');
    else throw new NotUtf8Error();
  }
  return shown;
}

/** `fields=stdout,status_id` → the names; absent → DEFAULT_FIELDS. */
export function fieldsOf(query: string | undefined): string[] {
  if (query === undefined || query.trim() === '') return DEFAULT_FIELDS;
  return query.split(',').map((f) => f.trim()).filter((f) => f !== '');
}
