/**
 * An interactive pair's job (JobPayload.interactor): the solution's sandbox, which the job runner
 * acquired as for any job, and a second fresh sandbox for the interactor, acquired here on the
 * same worker, run at once and connected stdout to stdin both ways (runtime/sandbox-pair.ts). Each
 * has its own limits; the interactor's sandbox is released whatever happens. The result is the
 * solution's, with how the interactor ended beside it (JobResult.interactor).
 */
import type { BlobAccess } from './blob-access.js';
import { withDefaults } from '../contract/limits.js';
import type { InteractorPayload, InteractorResult, JobPayload } from '../contract/job-payload.js';
import type { StoredImage } from '../contract/stored-image.js';
import type { RunRequest, RunResult, Sandbox } from '../runtime/sandbox.js';
import { runPair } from '../runtime/sandbox-pair.js';
import type { SandboxPools } from '../runtime/sandbox-pools.js';
import { argvOf, envOf } from './job-command.js';
import { jobInputs } from './job-blobs.js';
import type { ImageResolver } from './image-resolver.js';
import { encodeBytes } from './output-encoding.js';

export interface InteractivePairDeps {
  images: ImageResolver;
  pools: SandboxPools;
  pull?: (reference: string) => Promise<StoredImage>;
  /** The blobs the interactor's files name, fetched when this host lacks them (worker/blob-access.ts). */
  blobs?: BlobAccess;
}

/** A run of the solution, with its interactor's end when it was one side of a pair. */
export type PairedRunResult = RunResult & { interactor?: InteractorResult };

/** Runs the solution's request in its sandbox against the job's interactor in a sandbox of its own. */
export async function runInteractivePair(deps: InteractivePairDeps, job: JobPayload, solution: Sandbox, request: RunRequest): Promise<PairedRunResult> {
  const interactor = job.interactor!;
  let other: Sandbox | undefined;
  try {
    const image = await resolve(deps, interactor.image);
    const otherRequest = await interactorRequest(deps, interactor, image, request.signal);
    other = (await deps.pools.acquire(image, interactor.limits.diskBytes, 'none')).sandbox;
    // The solution's stdout still streams to its job's live output (onStdout): the dialogue, as the solution wrote it.
    const { stdin: _none, connect: _wired, ...solutionSide } = request;
    const [solved, interacted] = await runPair(solution, solutionSide, other, otherRequest);
    return { ...solved, interactor: interactorResult(interacted) };
  } finally {
    void other?.destroy();
  }
}

async function resolve(deps: InteractivePairDeps, reference: string): Promise<StoredImage> {
  const image = (await deps.images.resolve(reference)) ?? (await deps.pull?.(reference));
  if (!image) throw new Error(`the interactor's image ${reference} is not in the snapshot store`);
  return image;
}

async function interactorRequest(deps: InteractivePairDeps, interactor: InteractorPayload, image: StoredImage, signal?: AbortSignal): Promise<Omit<RunRequest, 'stdin' | 'connect'>> {
  const job = { image: interactor.image, cmd: interactor.cmd, env: {}, files: interactor.files, stdinBase64: '' };
  const { stdin: _none, ...inputs } = await jobInputs(job, deps.blobs);
  return {
    argv: argvOf(job, image.config),
    env: envOf(job, image.config),
    ...inputs,
    ...withDefaults(interactor.limits),
    ...(signal && { signal }),
  };
}

/** Its stderr is the message (testlib writes there); its stdout went to the solution. */
function interactorResult(run: RunResult): InteractorResult {
  const stderr = encodeBytes(run.stderr);
  return {
    verdict: run.verdict,
    exitCode: run.exitCode,
    signal: run.signal,
    stderr: stderr.text,
    ...(stderr.encoding && { stderrEncoding: stderr.encoding }),
    usage: run.usage,
    ...(run.error && { error: run.error }),
  };
}
