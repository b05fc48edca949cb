/**
 * A judge run, as a function the routes (and the Piston/Judge0 mappings) call: build once, then run
 * each test as an ordinary job of image + build layer, compare, record. It reads as a checklist:
 * plan (preset, commands, test data) → record the run → build (a job whose output is kept as a
 * layer) → tests (at most JUDGE_BOUNDS.parallelTests at once, each a queued job any worker may
 * take) → verdict → the build image removed (the store's GC frees its layer once no sandbox mounts it).
 *
 * The run is driven by one API process at a time, the holder of its lease (api/judge-run-lease.ts):
 * the one that accepted it, or the one that took it over when that one died
 * (api/judge-run-resume.ts). Everything it needs is in the db: what it was asked (judge_runs.input),
 * where it stands (the view, rewritten after each step), and its jobs, whose ids follow from the
 * run's and the step's (api/judge-run-jobs.ts): a resumed run finds what finished and waits for
 * what was under way, and never runs a step twice. Finishing records the verdict and the run's
 * webhook deliveries in one transaction (api/judge-run-finish.ts).
 */
import { readFile } from 'node:fs/promises';
import { epochMs } from '../contract/epoch-ms.js';
import { findBlob } from '../db/blobs.js';
import type { Tenant } from '../contract/tenant.js';
import { compareOutput, type CompareMode } from '../contract/judge-compare.js';
import { runVerdictOf, verdictOfRun, type JudgeRunInput, type JudgeRunView, type JudgeTestView } from '../contract/judge.js';
import type { InteractorPayload, JobResult } from '../contract/job-payload.js';
import type { LanguagePreset } from '../contract/languages.js';
import { finishJudgeRun, getJudgeRunById, insertJudgeRun, saveJudgeRun } from '../db/judge-runs.js';
import { PoolRegistry } from '../queue/pool-registry.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { runChecker, type RunJob } from './judge-checker.js';
import { checkInteractorPolicy, checkInteractorRequest, interactorPayload, verdictOfPair } from './judge-interactive.js';
import { ensureImage } from './image-pull-on-use.js';
import { imageInDb } from './image-lookup.js';
import { newJobId } from './job-id.js';
import { drivenRuns, JUDGE_RUN_OWNER, JudgeRunLeaseLost, leaseFromNow } from './judge-run-lease.js';
import { runDeliveries } from './judge-run-finish.js';
import { runStep, type RunJobContext, type StepSpec } from './judge-run-jobs.js';
import { checkWebhookTarget } from './webhook-target-check.js';
import type { JobRequest } from './schemas/job-request.js';
import { JUDGE_BOUNDS, type JudgeRequest } from './schemas/judge.js';

type TestData = JudgeRequest['tests'][number]['stdin'];

export interface JudgePlan {
  image: string;
  /** The checker's or the interactor's image (normalized), when the run has one. */
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

async function bytesOrBlob(deps: AppDeps, tenantId: string, data: TestData, field: string): Promise<Buffer | BlobRef> {
  if (data === undefined) return Buffer.alloc(0);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if ('base64' in data) return Buffer.from(data.base64, 'base64');
  if (deps.blobs === undefined || (await findBlob(deps.db, tenantId, data.blob)) === undefined) {
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
export async function startJudgeRun(
  deps: AppDeps,
  request: JudgeRequest,
  tenant: Tenant,
  languages: readonly LanguagePreset[],
  signal?: AbortSignal,
  opts: { beforeStart?: (runId: string) => Promise<void> } = {},
): Promise<StartedJudgeRun> {
  const plan = planOf(request, languages);
  checkWebhookTarget(request.webhook?.url, deps.config.webhookTargets);
  checkInteractorRequest(request);
  plan.image = (await ensureImage(deps, plan.image, signal)).reference;
  const judgeProgram = request.checker ?? request.interactor;
  if (judgeProgram) plan.checkerImage = judgeProgram.image === undefined ? plan.image : (await ensureImage(deps, judgeProgram.image, signal)).reference;
  if (request.interactor) checkInteractorPolicy(tenant, request.interactor, plan.checkerImage!);
  const tests = await prepareTests(deps, tenant.id, request);
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
  const input = { request: request as unknown as Record<string, unknown>, plan: plan as unknown as Record<string, unknown> };
  await insertJudgeRun(deps.db, { tenantId: tenant.id, view, input, webhookUrl: request.webhook?.url, createdAt: Math.floor(createdAt), owner: JUDGE_RUN_OWNER, leaseUntil: leaseFromNow() });
  await opts.beforeStart?.(view.id);
  const run = new JudgeRun(deps, tenant, plan, request, tests, structuredClone(view));
  return { view, done: run.execute() };
}

/** A blob on stdin reaches the job by reference (it never crosses Redis); expected output is compared here. 404 for a blob not stored. */
async function prepareTests(deps: AppDeps, tenantId: string, request: JudgeRequest): Promise<PreparedTest[]> {
  return Promise.all(
    request.tests.map(async (t, i) => ({
      stdin: await bytesOrBlob(deps, tenantId, t.stdin, `tests[${i}].stdin`),
      expected: t.expected === undefined ? undefined : await bytesOf(deps, await bytesOrBlob(deps, tenantId, t.expected, `tests[${i}].expected`)),
      limits: { ...request.limits, ...t.limits },
    })),
  );
}

/**
 * Drives a run this process just took over (api/judge-run-resume.ts) from where the db says it
 * stands, to its end. Settles when it is finished (or taken over again).
 */
export async function resumeJudgeRun(deps: AppDeps, tenant: Tenant, input: JudgeRunInput, view: JudgeRunView): Promise<JudgeRunView> {
  const request = input.request as unknown as JudgeRequest;
  const plan = input.plan as unknown as JudgePlan;
  const run = new JudgeRun(deps, tenant, plan, request, await prepareTests(deps, tenant.id, request), view);
  return run.execute();
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
  private readonly jobs: RunJobContext;

  constructor(
    private readonly deps: AppDeps,
    private readonly tenant: Tenant,
    private readonly plan: JudgePlan,
    private readonly request: JudgeRequest,
    private readonly tests: PreparedTest[],
    private readonly view: JudgeRunView,
  ) {
    this.pools = new PoolRegistry(deps.redis);
    this.jobs = { deps, tenant, runId: view.id, plainImage: plan.image };
  }

  /** Build images this run made, removed when it ends. */
  private readonly madeImages: string[] = [];
  /** The image the checker runs in: its build's, or its own. */
  private checkerImage: string | undefined;

  async execute(): Promise<JudgeRunView> {
    drivenRuns.add(this.view.id);
    try {
      return await this.drive();
    } finally {
      drivenRuns.delete(this.view.id);
    }
  }

  private async drive(): Promise<JudgeRunView> {
    try {
      await this.update({ status: 'running' });
      // Resumed with every test done (the process died as it finished): only the verdict is left.
      if (!this.view.tests.every((t) => t.status === 'finished')) {
        const image = this.plan.build ? await this.build() : this.plan.image;
        if (image !== undefined) {
          if (this.plan.build) await this.prewarm(image);
          this.checkerImage = await this.buildChecker();
          await this.runTests(image);
        }
      }
      this.view.verdict = this.view.build?.verdict === 'compile_error' ? 'compile_error' : runVerdictOf(this.view.tests);
    } catch (err) {
      if (err instanceof JudgeRunLeaseLost || (err instanceof AggregateError && err.errors.some((e) => e instanceof JudgeRunLeaseLost))) return await this.lost();
      this.deps.logger.error({ err, judgeRun: this.view.id }, 'judge run failed inside warmbox');
      this.view.verdict = 'internal_error';
      this.view.error = err instanceof Error ? err.message : String(err);
    }
    this.view.status = 'finished';
    this.view.finishedAt = new Date().toISOString();
    const deliveries = await runDeliveries(this.deps, this.view);
    if (!(await finishJudgeRun(this.deps.db, this.view, JUDGE_RUN_OWNER, Date.now(), deliveries))) return this.lost();
    for (const d of deliveries) {
      // The workers' webhook sweep queues it later when Redis does not take it now.
      await this.deps.webhooks?.add(d.id).catch((err: unknown) => this.deps.logger.warn({ err, delivery: d.id }, 'judge run delivery not queued; the webhook sweep will'));
    }
    for (const made of this.madeImages) await this.removeBuildImage(made);
    return this.view;
  }

  /** Another process drives the run now (this one was paused past its lease): it ends it; this one stops. */
  private async lost(): Promise<JudgeRunView> {
    this.deps.logger.warn({ judgeRun: this.view.id }, 'judge run taken over by another process; this one stops driving it');
    return (await getJudgeRunById(this.deps.db, this.view.id))?.view ?? this.view;
  }

  /** The build job; its image of image + build layer, or undefined after a compile error. */
  private async build(): Promise<string | undefined> {
    const build = this.view.build!;
    Object.assign(build, { status: 'running' });
    const { result } = await runStep(this.jobs, 'build', { cmd: this.plan.build!, files: this.plan.files, limits: this.request.buildLimits }, {
      image: this.plan.image,
      captureLayer: true,
      onJob: (id) => this.update({}, () => (build.jobId = id)),
      usable: (r) => this.builtImageKept(r),
    });
    const output = decode(result.stdout, result.stdoutEncoding) + decode(result.stderr, result.stderrEncoding);
    Object.assign(build, { status: 'finished', exitCode: result.exitCode, signal: result.signal, usage: result.usage, output });
    if (result.verdict === 'internal_error' || result.verdict === 'lost') throw new Error(`the build failed inside warmbox: ${result.error ?? result.verdict}`);
    if (result.built === undefined) {
      build.verdict = 'compile_error';
      for (const test of this.view.tests) Object.assign(test, { status: 'finished', verdict: 'skipped' });
      if (result.verdict !== 'ok' && result.verdict !== 'nonzero_exit') build.output = `${output}${output.endsWith('\n') || output === '' ? '' : '\n'}warmbox: the build ended ${result.verdict}\n`;
      await this.update({});
      return undefined;
    }
    this.madeImages.push(result.built.image);
    Object.assign(build, { verdict: 'ok', layer: result.built.layer, image: result.built.image });
    await this.update({});
    return result.built.image;
  }

  /**
   * A build found finished by a resumed run is used when its image is still there; when it is not
   * (removed, or a store that lost it), the build runs again and the remaining tests use the new one.
   */
  private async builtImageKept(result: JobResult): Promise<boolean> {
    return result.built === undefined || (await (this.deps.imageExists ?? imageInDb(this.deps))(result.built.image));
  }

  /** The checker's (or interactor's) image: built once like the solution when it has a build; a failed build fails the run. */
  private async buildChecker(): Promise<string | undefined> {
    const checker = this.request.checker ?? this.request.interactor;
    if (!checker?.build) return this.plan.checkerImage;
    const { result } = await runStep(this.jobs, 'checker-build', { cmd: checker.build, files: checker.files, limits: this.request.buildLimits }, {
      image: this.plan.checkerImage!,
      captureLayer: true,
      usable: (r) => this.builtImageKept(r),
    });
    if (result.built === undefined) {
      const output = decode(result.stdout, result.stdoutEncoding) + decode(result.stderr, result.stderrEncoding);
      throw new Error(`the ${this.request.interactor ? 'interactor' : 'checker'} did not build (${result.verdict}${result.exitCode ? ` ${result.exitCode}` : ''}): ${output.slice(0, 2048)}`);
    }
    this.madeImages.push(result.built.image);
    return result.built.image;
  }

  /** Every test not yet finished, at most parallelTests at once; after a failure with stopOnFirstFailure, the rest are skipped. */
  private async runTests(image: string): Promise<void> {
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      while (next < this.tests.length) {
        const index = next++;
        const test = this.view.tests[index]!;
        if (test.status === 'finished') {
          // Finished before this process took the run over.
          if (test.verdict !== 'accepted' && test.verdict !== 'skipped') failed = true;
          continue;
        }
        if (failed && this.request.stopOnFirstFailure) {
          Object.assign(test, { status: 'finished', verdict: 'skipped' });
          continue;
        }
        await this.runTest(image, index, test);
        if (test.verdict !== 'accepted') failed = true;
        this.view.passed = this.view.tests.filter((t) => t.verdict === 'accepted').length;
        await this.update({});
      }
    };
    await Promise.all(Array.from({ length: this.lanes() }, lane));
    await this.update({});
  }

  private async runTest(image: string, index: number, test: JudgeTestView): Promise<void> {
    const data = this.tests[index]!;
    test.status = 'running';
    // An interactive test's solution reads its interactor, not the test's input.
    const interactor = await this.interactorOf(data);
    const stdin = interactor ? undefined : Buffer.isBuffer(data.stdin) ? { base64: data.stdin.toString('base64') } : data.stdin;
    const spec: StepSpec = { cmd: this.plan.run, stdin, files: this.plan.build ? [] : this.plan.files, limits: data.limits };
    const { result } = await runStep(this.jobs, `test:${index}`, spec, { image, captureLayer: false, ...(interactor && { interactor }), onJob: (id) => this.update({}, () => (test.jobId = id)) });
    Object.assign(test, { status: 'finished', exitCode: result.exitCode, signal: result.signal, usage: result.usage });
    if (interactor) {
      Object.assign(test, verdictOfPair(result));
      return;
    }
    const failure = verdictOfRun(result);
    if (failure) {
      Object.assign(test, failure);
      return;
    }
    const stdout = Buffer.from(result.stdout, result.stdoutEncoding === 'base64' ? 'base64' : 'utf8');
    if (this.request.checker) {
      const run: RunJob = async (checkSpec, capture, checkImage) => (await runStep(this.jobs, `check:${index}`, checkSpec, { image: checkImage, captureLayer: capture })).result;
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

  /** An interactive test's interactor: the test's input and answer as its files (undefined: not an interactive run). */
  private async interactorOf(data: PreparedTest): Promise<InteractorPayload | undefined> {
    const spec = this.request.interactor;
    if (!spec) return undefined;
    const files = { input: await bytesOf(this.deps, data.stdin), answer: data.expected ?? Buffer.alloc(0) };
    return interactorPayload(spec, this.tenant, this.checkerImage!, spec.build !== undefined, files);
  }

  /** Records the view, while this process holds the run: JudgeRunLeaseLost once another took it over. */
  private update(fields: Partial<JudgeRunView>, change?: () => void): Promise<void> {
    Object.assign(this.view, fields);
    change?.();
    // One save at a time (test lanes update at once): each writes the view as it is when it runs.
    const saved = this.saving.then(async () => {
      if (!(await saveJudgeRun(this.deps.db, this.view, JUDGE_RUN_OWNER))) throw new JudgeRunLeaseLost(this.view.id);
    });
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  private saving: Promise<void> = Promise.resolve();

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
