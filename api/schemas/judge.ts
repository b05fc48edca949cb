/**
 * POST /v1/judge and the judge run it answers with (contract/judge.ts). Test data is inline text,
 * { "base64" }, or { "blob": "sha256:<hex>" } (a blob uploaded once; resolved where jobs resolve them).
 */
import { z } from '@hono/zod-openapi';
import { RUN_VERDICTS, TEST_VERDICTS } from '../../contract/judge.js';
import { REQUEST_BOUNDS as B } from '../request-bounds.js';
import { cmdSchema, filesSchema, limitsSchema } from './job-request.js';

export const JUDGE_BOUNDS = Object.freeze({
  /** Tests of one run (above → 422). */
  tests: 1000,
  /** Bytes of one test's stdin or expected output given inline. */
  testDataBytes: 16 * 1024 * 1024,
  /** Bytes of all tests' inline data together. */
  totalTestDataBytes: 64 * 1024 * 1024,
  /** Tests of one run running at once. */
  parallelTests: 8,
});

export const testDataSchema = z
  .union([
    z.string(),
    z.strictObject({ base64: z.base64() }),
    z.strictObject({ blob: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>') }),
  ], { error: 'must be a string, { "base64": "..." } or { "blob": "sha256:<hex>" }' })
  .openapi('TestData', { description: `Text, { "base64" } for binary, or a blob by digest. At most ${JUDGE_BOUNDS.testDataBytes} bytes inline.` });

const compareSchema = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('exact') }),
    z.strictObject({ mode: z.literal('trailing_whitespace') }),
    z.strictObject({ mode: z.literal('tokens') }),
    z.strictObject({
      mode: z.literal('float'),
      absoluteTolerance: z.number().min(0).default(1e-6),
      relativeTolerance: z.number().min(0).default(1e-6),
    }),
  ])
  .default({ mode: 'trailing_whitespace' })
  .openapi('JudgeCompare', {
    description:
      'How output is compared with `expected`: exact bytes; trailing_whitespace (default: line by line, blanks at line ends and empty ' +
      'lines at the end ignored); tokens (whitespace-separated); float (tokens, numbers within absoluteTolerance OR relativeTolerance·|expected|).',
  });

const testSchema = z.strictObject({
  stdin: testDataSchema.optional(),
  expected: testDataSchema.optional().openapi({ description: 'Absent: any output is accepted (the run only has to succeed).' }),
  limits: limitsSchema.optional().openapi({ description: "This test's limits: each one given replaces the run's `limits` value." }),
});

export const judgeRequestSchema = z
  .strictObject({
    language: z.string().max(64).optional().openapi({ description: 'A preset of GET /v1/languages: its image, source file name, build and run commands.', example: 'c' }),
    image: z.string().min(1).max(B.imageChars).optional().openapi({ description: "The image instead of the language's." }),
    build: cmdSchema.nullable().optional().openapi({ description: "argv of the build, run once, instead of the language's; null: no build." }),
    run: cmdSchema.optional().openapi({ description: "argv of each test's run instead of the language's." }),
    source: z.string().optional().openapi({ description: "The solution, written to the language's source file." }),
    files: filesSchema.optional().openapi({ description: 'More files in the working directory of the build (and of every test when there is no build).' }),
    buildLimits: limitsSchema.optional().openapi({ description: 'Limits of the build (a compiler runs hostile input too).' }),
    limits: limitsSchema.optional().openapi({ description: 'Limits of each test, unless the test gives its own.' }),
    tests: z.array(testSchema).min(1).max(JUDGE_BOUNDS.tests),
    compare: compareSchema,
    checker: z
      .strictObject({
        image: z.string().min(1).max(B.imageChars).optional().openapi({ description: "The checker's image; default the run's image (without the build layer)." }),
        files: filesSchema.optional(),
        build: cmdSchema.optional().openapi({ description: 'argv of the checker\'s build, run once (its output a layer, as the solution\'s).' }),
        run: cmdSchema.openapi({ description: 'argv of the checker; `input.txt output.txt expected.txt` are appended (testlib\'s order).', example: ['./checker'] }),
        limits: limitsSchema.optional(),
      })
      .optional()
      .openapi({
        description:
          'A custom checker instead of `compare`, testlib-style: run in its own sandbox for each test the solution finished, with the ' +
          'input, the output and the expected output as files. Exit 0: accepted; 1: wrong answer; anything else: checker_error. ' +
          'The test\'s message is what it wrote (stderr, else stdout).',
      }),
    interactor: z
      .strictObject({
        image: z.string().min(1).max(B.imageChars).optional().openapi({ description: "The interactor's image; default the run's image (without the build layer)." }),
        files: filesSchema.optional(),
        build: cmdSchema.optional().openapi({ description: "argv of the interactor's build, run once (its output a layer, as the solution's)." }),
        run: cmdSchema.openapi({ description: "argv of the interactor; `input.txt output.txt answer.txt` are appended (testlib's order).", example: ['sh', 'interactor.sh'] }),
        limits: limitsSchema.optional().openapi({ description: "The interactor's own limits (its sandbox's), apart from the solution's." }),
      })
      .optional()
      .openapi({
        description:
          'An interactive problem: for each test the interactor runs in a sandbox of its own at the same time as the solution, its stdout ' +
          "on the solution's stdin and the solution's stdout on its stdin. The test's `stdin` is its `input.txt` and `expected` its " +
          "`answer.txt` (the solution gets neither). Exit 0: accepted; 1: wrong answer (its stderr the message); anything else: " +
          "interactor_error. A limit the solution breaks is the verdict first. Not with `checker`; `compare` is not used.",
        example: { files: [{ path: 'interactor.sh', content: 'read n < input.txt; …' }], run: ['sh', 'interactor.sh'] },
      }),
    stopOnFirstFailure: z.boolean().default(false).openapi({ description: 'true: tests after the first one not accepted are skipped.' }),
    webhook: z
      .strictObject({ url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(B.webhookUrlChars) })
      .optional()
      .openapi({
        description:
          'Where the finished run is POSTed (event `judge_run.finished`, body `{ type, deliveryId, judgeRun }` with the run as ' +
          'GET /v1/judge/{id} shows it), signed, retried with backoff like a job\'s webhook (README "Webhooks"); its attempts are at ' +
          'GET /v1/judge/{id}/deliveries. The same address rules as a job\'s webhook.',
        example: { url: 'https://example.com/hooks/judge' },
      }),
  })
  .superRefine((r, ctx) => {
    if (r.language === undefined && (r.image === undefined || r.run === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give a language, or an image and a run command', path: ['language'] });
    }
    let total = 0;
    for (const [i, t] of r.tests.entries()) {
      for (const key of ['stdin', 'expected'] as const) {
        const d = t[key];
        const bytes = d === undefined || (typeof d === 'object' && 'blob' in d) ? 0 : typeof d === 'string' ? Buffer.byteLength(d) : Buffer.byteLength(d.base64, 'base64');
        if (bytes > JUDGE_BOUNDS.testDataBytes) ctx.addIssue({ code: 'too_big', origin: 'bytes', maximum: JUDGE_BOUNDS.testDataBytes, inclusive: true, message: `${bytes} bytes, above the maximum ${JUDGE_BOUNDS.testDataBytes}`, path: ['tests', i, key] });
        total += bytes;
      }
    }
    if (total > JUDGE_BOUNDS.totalTestDataBytes) ctx.addIssue({ code: 'too_big', origin: 'bytes', maximum: JUDGE_BOUNDS.totalTestDataBytes, inclusive: true, message: `${total} bytes of test data in all, above the maximum ${JUDGE_BOUNDS.totalTestDataBytes}`, path: ['tests'] });
  })
  .openapi('JudgeRequest');

export type JudgeRequest = z.infer<typeof judgeRequestSchema>;

const usageSchema = z.object({ cpuTimeMs: z.number(), wallTimeMs: z.number(), memoryPeakBytes: z.number() });

export const judgeRunViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'finished']),
    language: z.string().optional(),
    image: z.string(),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    verdict: z.enum(RUN_VERDICTS).optional(),
    build: z
      .object({
        status: z.enum(['pending', 'running', 'finished']),
        jobId: z.string().optional(),
        verdict: z.enum(['ok', 'compile_error', 'internal_error']).optional(),
        exitCode: z.number().nullable().optional(),
        signal: z.string().nullable().optional(),
        output: z.string().optional().openapi({ description: "The build's stdout then stderr." }),
        usage: usageSchema.optional(),
        layer: z.string().optional().openapi({ description: "The build output's layer (sha256 of its tar)." }),
        image: z.string().optional().openapi({ description: 'The image of image + build layer the tests ran in.' }),
      })
      .optional(),
    tests: z.array(
      z.object({
        index: z.number(),
        status: z.enum(['pending', 'running', 'finished']),
        verdict: z.enum(TEST_VERDICTS).optional(),
        jobId: z.string().optional(),
        exitCode: z.number().nullable().optional(),
        signal: z.string().nullable().optional(),
        usage: usageSchema.optional(),
        message: z.string().optional(),
      }),
    ),
    passed: z.number(),
    error: z.string().optional(),
  })
  .openapi('JudgeRun');

export const languageSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.string(),
    image: z.string(),
    sourceFile: z.string(),
    build: z.array(z.string()).optional(),
    run: z.array(z.string()),
    judge0Id: z.number().optional().openapi({ description: 'The language id Judge0 clients send for it (POST /submissions).' }),
    aliases: z.array(z.string()).optional().openapi({ description: 'Other names Piston clients may use for it.' }),
  })
  .openapi('Language');
