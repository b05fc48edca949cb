/**
 * What travels through the BullMQ `jobs` queue: a validated request with every default filled,
 * so that the worker needs no db read on the hot path. The BullMQ job id is `id`.
 */
import type { Limits } from './limits.js';
import type { NetworkMode } from './network-mode.js';
import type { Verdict } from './verdict.js';

/** A file placed in the job's working directory: its bytes inline, or a blob the worker reads from its store. */
export type JobFile = InlineJobFile | BlobJobFile;

export interface InlineJobFile {
  /** Relative to the job's working directory; validated at the API (no absolute paths, no `..`). */
  path: string;
  contentBase64: string;
  /** Unix permission bits, e.g. 0o644. */
  mode: number;
}

export interface BlobJobFile {
  path: string;
  /** The blob's digest (`sha256:<hex>`): its bytes are not in the payload; the launcher reads them on the worker's host. */
  blob: string;
  mode: number;
}

export function isBlobFile(file: JobFile): file is BlobJobFile {
  return 'blob' in file;
}

/** Every blob a job references (its stdin, its files and its interactor's), each once: what pins them while the job is unfinished. */
export function blobDigestsOf(job: Pick<JobPayload, 'stdinBlob' | 'files' | 'interactor'>): string[] {
  const digests = new Set<string>();
  if (job.stdinBlob !== undefined) digests.add(job.stdinBlob);
  for (const f of [...job.files, ...(job.interactor?.files ?? [])]) if (isBlobFile(f)) digests.add(f.blob);
  return [...digests];
}

export interface JobPayload {
  id: string;
  /** Whose job it is (contract/tenant.ts); absent in jobs queued before tenants existed: the local tenant. */
  tenantId?: string;
  /** Normalized image reference, e.g. `docker.io/library/busybox:latest`. */
  image: string;
  /** argv; absent → the image's Entrypoint + Cmd. */
  cmd?: string[];
  /** Replaces the image's Entrypoint (and drops its Cmd); absent → the image's. */
  entrypoint?: string[];
  /** Working directory instead of the image's WorkingDir (checked by contract/working-dir.ts); absent → the image's. */
  workdir?: string;
  stdinBase64: string;
  /** A blob (`sha256:<hex>`) on the job's stdin instead of stdinBase64 (then empty); the launcher reads it on the worker's host. */
  stdinBlob?: string;
  env: Record<string, string>;
  files: JobFile[];
  limits: Limits;
  /** absent in jobs queued before network modes existed: `none`. */
  network: NetworkMode;
  /** Epoch milliseconds when the API accepted the job. */
  createdAt: number;
  /** Milliseconds the API spent pulling the image before it accepted the job (pull on first use); absent: none. */
  pullMs?: number;
  /**
   * W3C Trace Context of the enqueue (queue/job-trace.ts), so that the worker's spans join the
   * request's trace. Absent when tracing is off, and in jobs queued before warmbox carried it.
   */
  traceparent?: string;
  tracestate?: string;
  /**
   * A judge's build: when the command exits 0, what it wrote (the sandbox's writable layer) is
   * stored as a layer on the image and named in the result's `built` (worker/build-layer.ts).
   */
  captureLayer?: boolean;
  /**
   * An interactive pair: this job (the solution) and the interactor run at once on one worker, each
   * in a sandbox of its own, the interactor's stdout on the solution's stdin and the solution's
   * stdout on the interactor's stdin (worker/interactive-pair.ts). The job's stdin is then unused.
   */
  interactor?: InteractorPayload;
}

/** The other side of an interactive pair: a program with its own image, files and limits. */
export interface InteractorPayload {
  /** Normalized image reference (a judge build image when the interactor was built). */
  image: string;
  cmd: string[];
  files: JobFile[];
  limits: Limits;
}

/** How the interactor of a pair ended (JobResult.interactor). */
export interface InteractorResult {
  verdict: Verdict;
  exitCode: number | null;
  signal: string | null;
  /** Its stderr (testlib's message), as text; base64 when not UTF-8. */
  stderr: string;
  stderrEncoding?: 'base64';
  usage: { cpuTimeMs: number; wallTimeMs: number; memoryPeakBytes: number };
  error?: string;
}

/** A build's output as an image: the build's image with one more layer. */
export interface BuiltLayer {
  /** The image to run the tests in: `warmbox.internal/judge-build:<job id>`. */
  image: string;
  /** Its manifest digest. */
  digest: string;
  /** The build layer's diff_id (the sha256 of its tar): the same output gives the same layer. */
  layer: string;
}

/** The `result` object of GET /v1/jobs/:id (DESIGN.md contract). */
export interface JobResult {
  verdict: Verdict;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Present as `base64` when the bytes are not valid UTF-8. */
  stdoutEncoding?: 'base64';
  stderrEncoding?: 'base64';
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  usage: { cpuTimeMs: number; wallTimeMs: number; memoryPeakBytes: number };
  start: 'warm' | 'cold';
  timings: { queuedMs: number; pullMs: number; acquireMs: number; runMs: number; totalMs: number };
  /** For `internal_error` and `lost`: what went wrong, for the operator. */
  error?: string;
  /** A captureLayer job that exited 0: its output, stored as an image. */
  built?: BuiltLayer;
  /** An interactive pair (JobPayload.interactor): how its interactor ended; the rest of the result is the solution's. */
  interactor?: InteractorResult;
}
