/**
 * A judge run, as a function the routes (and the Piston/Judge0 mappings) call: build once, then run
 * each test as an ordinary job of image + build layer, compare, record. It reads as a checklist:
 * plan (preset, commands, test data) → record the run → build (a job whose output is kept as a
 * layer) → tests (at most JUDGE_BOUNDS.parallelTests at once, each a queued job any worker may
 * take) → verdict → the build image removed (the store's GC frees its layer once no sandbox mounts it).
 *
 * The orchestration lives in the API process that accepted the run; the jobs it starts are
 * recorded and durable like any job, and the run's record is rewritten after each step.
 */
import { readFile } from 'node:fs/promises';
import { epochMs } from '../contract/epoch-ms.js';
import { findBlob } from '../db/blobs.js';
import type { Tenant } from '../contract/tenant.js';
import { compareOutput, type CompareMode } from '../contract/judge-compare.js';
import { runVerdictOf, verdictOfRun, type JudgeRunView, type JudgeTestView } from '../contract/judge.js';
import type { JobResult } from '../contract/job-payload.js';
import type { LanguagePreset } from '../contract/languages.js';
import { insertJudgeRun, saveJudgeRun } from '../db/judge-runs.js';
import { PoolRegistry } from '../queue/pool-registry.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { submitJobs } from './job-submission.js';
import { runChecker, type RunJob } from './judge-checker.js';
import { ensureImage } from './image-pull-on-use.js';
import { JobWaiter } from './job-waiter.js';
import { newJobId } from './job-id.js';
import type { JobRequest } from './schemas/job-request.js';
import { JUDGE_BOUNDS, type JudgeRequest } from './schemas/judge.js';

/** How long a run waits for one of its jobs (queue time included) before it calls it lost. */
const JOB_WAIT_MS = 30 * 60_000;

type TestData = JudgeRequest['tests'][number]['stdin'];

export interface JudgePlan {
  image: string;
  /** The checker's image (normalized), when the run has a checker. */
  checkerImage?: string;
  language?: string;
  build?: string[];
  run: string[];
  files: NonNullable<JobRequest['files']>;
}

/** The commands and files of a request: its language's, replaced by what it gives explicitly. 422 for an unknown language. */
export function planOf(request: JudgeRequest, languages: readonly LanguagePreset[]): JudgePlan {
  const preset = request.language === undefined ? undefined : languages.find((l) => l.id === request.language);
  if (request.language !== undefined && preset === undefined) {
    throw new ApiError(422, 'unknown_language', `unknown language ${JSON.stringify(request.language)}; GET /v1/languages lists them`, { field: 'language' });
  }
  const files = [...(request.files ?? [])];
  if (request.source !== undefined) {
    if (preset === undefined) throw new ApiError(422, 'invalid_request', '`source` needs a language (its source file name); give `files` instead', { field: 'source' });
    files.unshift({ path: preset.sourceFile, content: request.source, encoding: 'utf8', mode: 0o644 });
  }
  const build = request.build === null ? undefined : (request.build ?? preset?.build);
  return { image: request.image ?? preset!.image, ...(preset && { language: preset.id }), ...(build && { build }), run: request.run ?? preset!.run, files };
}

/** A blob a test names: the tenant's, else 404 (a blob is never another tenant's to read). */
type BlobRef = { blob: string };

function bytesOrBlob(deps: AppDeps, tenantId: string, data: TestData, field: string): Buffer | BlobRef {
  if (data === undefined) return Buffer.alloc(0);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if ('base64' in data) return Buffer.from(data.base64, 'base64');
  if (deps.blobs === undefined || findBlob(deps.db, tenantId, data.blob) === undefined) {
    throw new ApiError(404, 'blob_not_found', `${field}: blob ${data.blob} is not stored on this server`, { field });
  }
  return { blob: data.blob };
}

/** The bytes of test data: a blob's read from the store on this host (the API's; fetched from a peer API process when uploaded to one). */
async function bytesOf(deps: AppDeps, data: Buffer | BlobRef): Promise<Buffer> {
  if (Buffer.isBuffer(data)) return data;
  await deps.blobs!.peers?.ensure(data.blob);
  return readFile(deps.blobs!.store.pathOf(data.blob));
}

export interface StartedJudgeRun {
  view: JudgeRunView;
  /** Settles when the run is finished and recorded. */
  done: Promise<JudgeRunView>;
}

/** Validates the request, pulls its image on first use, records the run, then runs it in the background. */
export async function startJudgeRun(deps: AppDeps, request: JudgeRequest, tenant: Tenant, languages: readonly LanguagePreset[], signal?: AbortSignal): Promise<StartedJudgeRun> {
  const plan = planOf(request, languages);
  plan.image = (await ensureImage(deps, plan.image, signal)).reference;
  if (request.checker) plan.checkerImage = request.checker.image === undefined ? plan.image : (await ensureImage(deps, request.checker.image, signal)).reference;
  // A blob on stdin reaches the job by reference (it never crosses Redis); expected output is compared here.
  const tests = await Promise.all(
    request.tests.map(async (t, i) => ({
      stdin: bytesOrBlob(deps, tenant.id, t.stdin, `tests[${i}].stdin`),
      expected: t.expected === undefined ? undefined : await bytesOf(deps, bytesOrBlob(deps, tenant.id, t.expected, `tests[${i}].expected`)),
      limits: { ...request.limits, ...t.limits },
    })),
  );
  const createdAt = epochMs();
  const view: JudgeRunView = {
    id: newJobId(),
    status: 'queued',
    ...(plan.language && { language: plan.language }),
    image: plan.image,
    createdAt: new Date(createdAt).toISOString(),
    ...(plan.build && { build: { status: 'pending' } }),
    tests: tests.map((_, index) => ({ index, status: 'pending' })),
    passed: 0,
  };
  insertJudgeRun(deps.db, tenant.id, view, Math.floor(createdAt));
  const run = new JudgeRun(deps, tenant, plan, request, tests, structuredClone(view));
  return { view, done: run.execute() };
}

interface PreparedTest {
  stdin: Buffer | BlobRef;
  expected: Buffer | undefined;
  limits: JudgeRequest['limits'];
}

/** Parked sandboxes of a build image per worker, at most. */
const MAX_PREWARMED = 4;

class JudgeRun {
  private readonly pools: PoolRegistry;

  constructor(
    private readonly deps: AppDeps,
    private readonly tenant: Tenant,
    private readonly plan: JudgePlan,
    private readonly request: JudgeRequest,
    private readonly tests: PreparedTest[],
    private readonly view: JudgeRunView,
  ) {
    this.pools = new PoolRegistry(deps.redis);
  }

  /** Build images this run made, removed when it ends. */
  private readonly madeImages: string[] = [];
  /** The image the checker runs in: its build's, or its own. */
  private checkerImage: string | undefined;

  async execute(): Promise<JudgeRunView> {
    try {
      this.update({ status: 'running' });
      const image = this.plan.build ? await this.build() : this.plan.image;
      if (image !== undefined) {
        if (this.plan.build) await this.prewarm(image);
        this.checkerImage = await this.buildChecker();
        await this.runTests(image);
      }
      this.view.verdict = this.view.build?.verdict === 'compile_error' ? 'compile_error' : runVerdictOf(this.view.tests);
    } catch (err) {
      this.deps.logger.error({ err, judgeRun: this.view.id }, 'judge run failed inside warmbox');
      this.view.verdict = 'internal_error';
      this.view.error = err instanceof Error ? err.message : String(err);
    }
    this.view.status = 'finished';
    this.view.finishedAt = new Date().toISOString();
    saveJudgeRun(this.deps.db, this.view, Date.now());
    for (const made of this.madeImages) await this.removeBuildImage(made);
    return this.view;
  }

  /** The build job; its image of image + build layer, or undefined after a compile error. */
  private async build(): Promise<string | undefined> {
    const build = this.view.build!;
    Object.assign(build, { status: 'running' });
    const result = await this.runJob({ cmd: this.plan.build!, files: this.plan.files, limits: this.request.buildLimits }, true, (id) => this.update({}, () => (build.jobId = id)));
    const output = decode(result.stdout, result.stdoutEncoding) + decode(result.stderr, result.stderrEncoding);
    Object.assign(build, { status: 'finished', exitCode: result.exitCode, signal: result.signal, usage: result.usage, output });
    if (result.verdict === 'internal_error' || result.verdict === 'lost') throw new Error(`the build failed inside warmbox: ${result.error ?? result.verdict}`);
    if (result.built === undefined) {
      build.verdict = 'compile_error';
      for (const test of this.view.tests) Object.assign(test, { status: 'finished', verdict: 'skipped' });
      if (result.verdict !== 'ok' && result.verdict !== 'nonzero_exit') build.output = `${output}${output.endsWith('\n') || output === '' ? '' : '\n'}warmbox: the build ended ${result.verdict}\n`;
      this.update({});
      return undefined;
    }
    this.madeImages.push(result.built.image);
    Object.assign(build, { verdict: 'ok', layer: result.built.layer, image: result.built.image });
    this.update({});
    return result.built.image;
  }

  /** The checker's image: built once like the solution when it has a build; a failed build fails the run. */
  private async buildChecker(): Promise<string | undefined> {
    const checker = this.request.checker;
    if (!checker?.build) return this.plan.checkerImage;
    const result = await this.runJob({ cmd: checker.build, files: checker.files, limits: this.request.buildLimits }, true, () => undefined, this.plan.checkerImage);
    if (result.built === undefined) {
      const output = decode(result.stdout, result.stdoutEncoding) + decode(result.stderr, result.stderrEncoding);
      throw new Error(`the checker did not build (${result.verdict}${result.exitCode ? ` ${result.exitCode}` : ''}): ${output.slice(0, 2048)}`);
    }
    this.madeImages.push(result.built.image);
    return result.built.image;
  }

  /** Every test, at most parallelTests at once; after a failure with stopOnFirstFailure, the rest are skipped. */
  private async runTests(image: string): Promise<void> {
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      while (next < this.tests.length) {
        const index = next++;
        const test = this.view.tests[index]!;
        if (failed && this.request.stopOnFirstFailure) {
          Object.assign(test, { status: 'finished', verdict: 'skipped' });
          continue;
        }
        await this.runTest(image, index, test);
        if (test.verdict !== 'accepted') failed = true;
        this.view.passed = this.view.tests.filter((t) => t.verdict === 'accepted').length;
        this.update({});
      }
    };
    await Promise.all(Array.from({ length: this.lanes() }, lane));
    this.update({});
  }

  private async runTest(image: string, index: number, test: JudgeTestView): Promise<void> {
    const data = this.tests[index]!;
    test.status = 'running';
    const result = await this.runJob(
      { cmd: this.plan.run, stdin: Buffer.isBuffer(data.stdin) ? { base64: data.stdin.toString('base64') } : data.stdin, files: this.plan.build ? [] : this.plan.files, limits: data.limits },
      false,
      (id) => this.update({}, () => (test.jobId = id)),
      image,
    );
    Object.assign(test, { status: 'finished', exitCode: result.exitCode, signal: result.signal, usage: result.usage });
    const failure = verdictOfRun(result);
    if (failure) {
      Object.assign(test, failure);
      return;
    }
    const stdout = Buffer.from(result.stdout, result.stdoutEncoding === 'base64' ? 'base64' : 'utf8');
    if (this.request.checker) {
      const run: RunJob = (spec, capture, image) => this.runJob(spec, capture, () => undefined, image);
      const input = await bytesOf(this.deps, data.stdin);
      Object.assign(test, await runChecker(run, this.request.checker, this.checkerImage!, this.request.checker.build !== undefined, { input, output: stdout, expected: data.expected ?? Buffer.alloc(0) }));
      return;
    }
    if (data.expected === undefined) {
      test.verdict = 'accepted';
      return;
    }
    const same = compareOutput(stdout, data.expected, this.request.compare as CompareMode);
    if (same.same) test.verdict = 'accepted';
    else Object.assign(test, { verdict: 'wrong_answer', message: same.reason });
  }

  /** Submits one job of the run (the tenant's, like any job) and waits for its result. */
  private async runJob(
    spec: Pick<JobRequest, 'cmd' | 'stdin' | 'files' | 'limits'>,
    captureLayer: boolean,
    onQueued: (id: string) => void,
    image = this.plan.image,
  ): Promise<JobResult> {
    let waiter: JobWaiter | undefined;
    const request = { image, network: 'none', ...spec, labels: { 'warmbox.judge': this.view.id } } as JobRequest;
    const { rows } = await submitJobs(this.deps, [request], {
      tenant: this.tenant,
      captureLayer,
      buildImage: image !== this.plan.image,
      beforeEnqueue: (recorded) => (waiter = JobWaiter.start(this.deps.db, this.deps.notifier, recorded[0]!, JOB_WAIT_MS)),
      onEnqueueFailed: () => waiter?.cancel(),
    });
    onQueued(rows[0]!.id);
    const row = await waiter!.result();
    if (row?.status !== 'finished' || row.result === null || row.result === undefined) throw new Error(`job ${rows[0]!.id} did not finish within ${JOB_WAIT_MS} ms`);
    return row.result;
  }

  private update(fields: Partial<JudgeRunView>, change?: () => void): void {
    Object.assign(this.view, fields);
    change?.();
    saveJudgeRun(this.deps.db, this.view);
  }

  /** The build image's pools hold as many parked sandboxes as tests run at once, made while the first tests run. */
  private async prewarm(reference: string): Promise<void> {
    const parked = Math.min(this.lanes(), MAX_PREWARMED);
    try {
      await this.pools.setBounds(reference, { min: parked, max: parked });
    } catch (err) {
      this.deps.logger.warn({ err, judgeRun: this.view.id }, 'the build image\'s pools could not be pre-warmed; its tests start cold');
    }
  }

  /** Tests running at once: one when the run stops on the first failure (order decides then). */
  private lanes(): number {
    return this.request.stopOnFirstFailure ? 1 : Math.min(JUDGE_BOUNDS.parallelTests, this.tests.length);
  }

  /** Untags the build image (an image operation on a worker, which drains its pools); its layer goes with the store's next collection. */
  private async removeBuildImage(reference: string): Promise<void> {
    try {
      await this.pools.clearBounds(reference);
      await this.deps.images?.enqueue({ kind: 'remove', reference, force: true });
    } catch (err) {
      this.deps.logger.warn({ err, judgeRun: this.view.id, image: reference }, 'the build image could not be queued for removal; `warmbox rmi` removes it');
    }
  }
}

function decode(text: string, encoding: 'base64' | undefined): string {
  return encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
}
