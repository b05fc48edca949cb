/**
 * Piston v2's execute request as a judge run of one test, and the run back as Piston's answer:
 * `compile` (for a language with a build) and `run` stages with stdout, stderr, code, signal and
 * output. The first file is the program (written to the language's source file, whatever its
 * name); the others keep their names. Piston's limits are milliseconds and bytes, -1 for none
 * (warmbox's defaults then).
 */
import { z } from 'zod';
import type { JudgeBuildView, JudgeRunView, JudgeTestView } from '../../contract/judge.js';
import type { LanguagePreset } from '../../contract/languages.js';
import type { WarmboxDb } from '../../db/client.js';
import { jobOutput, type JobOutput } from './run-output.js';

const limit = z.number().int().nullish();

export const pistonExecuteSchema = z.object({
  language: z.string({ error: 'language is required as a string' }).min(1),
  version: z.string({ error: 'version is required as a string' }).min(1),
  files: z
    .array(z.object({ name: z.string().optional(), content: z.string({ error: 'file content is required as a string' }), encoding: z.enum(['utf8', 'base64', 'hex']).optional() }), {
      error: 'files is required as an array',
    })
    .min(1, 'files must have at least one file'),
  stdin: z.string().optional(),
  args: z.array(z.string()).optional(),
  compile_timeout: limit,
  run_timeout: limit,
  compile_cpu_time: limit,
  run_cpu_time: limit,
  compile_memory_limit: limit,
  run_memory_limit: limit,
});

export type PistonExecute = z.infer<typeof pistonExecuteSchema>;

/** A Piston limit: -1 (or absent) is none, i.e. warmbox's default. */
const given = (value: number | null | undefined): value is number => value !== undefined && value !== null && value >= 0;

function limitsOf(timeoutMs: number | null | undefined, cpuMs: number | null | undefined, memory: number | null | undefined) {
  return { ...(given(timeoutMs) && { wallTimeMs: timeoutMs }), ...(given(cpuMs) && { cpuTimeMs: cpuMs }), ...(given(memory) && { memoryBytes: memory }) };
}

/** Unvalidated: the caller validates it with judgeRequestSchema (warmbox's bounds, defaults). */
export function toJudgeRequest(body: PistonExecute, preset: LanguagePreset): Record<string, unknown> {
  const [main, ...others] = body.files.map((f) => ({ content: Buffer.from(f.content, f.encoding ?? 'utf8').toString('base64'), name: f.name }));
  const files = [
    { path: preset.sourceFile, content: main!.content, encoding: 'base64' as const, mode: 0o644 },
    ...others.map((f, i) => ({ path: f.name ?? `file${i + 1}.code`, content: f.content, encoding: 'base64' as const, mode: 0o644 })),
  ];
  return {
    language: preset.id,
    files,
    run: [...preset.run, ...(body.args ?? [])],
    tests: [{ stdin: body.stdin ?? '' }],
    buildLimits: limitsOf(body.compile_timeout, body.compile_cpu_time, body.compile_memory_limit),
    limits: limitsOf(body.run_timeout, body.run_cpu_time, body.run_memory_limit),
    compare: { mode: 'exact' },
    stopOnFirstFailure: true,
  };
}

export interface PistonStage {
  stdout: string;
  stderr: string;
  /** stdout then stderr (Piston interleaves them as they come; warmbox keeps them apart). */
  output: string;
  code: number | null;
  signal: string | null;
  /** Piston's status of a stage that did not exit normally: TO (time), OL/EL (output), SG (signal), RE (exit code), XX (internal). */
  status: string | null;
  message: string | null;
  cpu_time: number | null;
  wall_time: number | null;
  memory: number | null;
}

export interface PistonAnswer {
  language: string;
  version: string;
  compile?: PistonStage;
  run?: PistonStage;
}

/** Piston's answer: no `run` after a failed compile, as Piston does. */
export async function pistonAnswer(db: WarmboxDb, preset: LanguagePreset, run: JudgeRunView): Promise<PistonAnswer> {
  const answer: PistonAnswer = { language: preset.id, version: preset.version };
  if (run.build !== undefined) answer.compile = stage(await jobOutput(db, run.build.jobId), run.build);
  const test = run.tests[0];
  if (run.verdict !== 'compile_error' && test !== undefined) answer.run = stage(await jobOutput(db, test.jobId), test);
  return answer;
}

function stage(output: JobOutput | undefined, step: JudgeBuildView | JudgeTestView): PistonStage {
  const stdout = output?.stdout.toString('utf8') ?? '';
  const stderr = output?.stderr.toString('utf8') ?? '';
  const result = output?.result;
  const killed = result !== undefined && ['time_limit', 'cpu_time_limit', 'memory_limit', 'output_limit'].includes(result.verdict);
  return {
    stdout,
    stderr,
    output: stdout + stderr,
    code: killed ? null : (step.exitCode ?? null),
    signal: killed ? 'SIGKILL' : (step.signal ?? null),
    status: result === undefined ? 'XX' : statusOf(result.verdict),
    message: result === undefined ? 'warmbox could not run this stage' : messageOf(result.verdict, result.exitCode),
    cpu_time: step.usage ? Math.round(step.usage.cpuTimeMs) : null,
    wall_time: step.usage ? Math.round(step.usage.wallTimeMs) : null,
    memory: step.usage?.memoryPeakBytes ?? null,
  };
}

function statusOf(verdict: string): string | null {
  const statuses: Record<string, string> = { time_limit: 'TO', cpu_time_limit: 'TO', memory_limit: 'SG', output_limit: 'OL', signaled: 'SG', nonzero_exit: 'RE' };
  return verdict === 'ok' ? null : (statuses[verdict] ?? 'XX');
}

function messageOf(verdict: string, exitCode: number | null): string | null {
  const messages: Record<string, string> = {
    time_limit: 'Wall time limit exceeded',
    cpu_time_limit: 'CPU time limit exceeded',
    memory_limit: 'Memory limit exceeded',
    output_limit: 'Output limit exceeded',
    signaled: 'Killed by a signal',
    nonzero_exit: `Exited with error status ${exitCode}`,
  };
  return verdict === 'ok' ? null : (messages[verdict] ?? `warmbox: ${verdict}`);
}
