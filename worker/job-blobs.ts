/**
 * The blobs a job references, as host files the launcher reads itself (runtime/native/run-forward.c,
 * supervise.c): its stdin and its blob files never pass through the payload, Redis, this process or
 * the launcher's control socket. The blob store is the data directory's (`<WARMBOX_DATA>/blobs`),
 * which the API processes and the workers of one host share.
 */
import type { BlobStore } from '../blobs/blob-store.js';
import { isBlobFile, type JobPayload } from '../contract/job-payload.js';
import type { RunMessage } from '../runtime/launcher-protocol.js';

export interface JobInputs {
  files: RunMessage['files'];
  hostFiles: NonNullable<RunMessage['hostFiles']>;
  stdin: Buffer;
  stdinFile?: string;
}

/** The job's stdin and files: inline bytes decoded, blobs as paths of this host's store. */
export async function jobInputs(job: Pick<JobPayload, 'stdinBase64' | 'stdinBlob' | 'files'>, store: BlobStore | undefined): Promise<JobInputs> {
  const inputs: JobInputs = { files: [], hostFiles: [], stdin: Buffer.from(job.stdinBase64, 'base64') };
  if (job.stdinBlob !== undefined) inputs.stdinFile = await blobPath(store, job.stdinBlob);
  for (const f of job.files) {
    if (isBlobFile(f)) inputs.hostFiles.push({ path: f.path, hostPath: await blobPath(store, f.blob), mode: f.mode });
    else inputs.files.push({ path: f.path, content: Buffer.from(f.contentBase64, 'base64'), mode: f.mode });
  }
  return inputs;
}

/** Thrown when a referenced blob is not in this worker's store: the job ends internal_error saying so. */
export class MissingBlobError extends Error {
  override name = 'MissingBlobError';
}

async function blobPath(store: BlobStore | undefined, digest: string): Promise<string> {
  if (store === undefined) throw new MissingBlobError(`the job references blob ${digest}, but this worker has no blob store`);
  if ((await store.sizeOf(digest)) === undefined) {
    throw new MissingBlobError(`blob ${digest} is not in this worker's blob store (a worker must share the API's data directory to read blobs)`);
  }
  return store.pathOf(digest);
}
