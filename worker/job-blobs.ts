/**
 * The blobs a job references, as host files the launcher reads itself (runtime/native/run-forward.c,
 * supervise.c): its stdin and its blob files never pass through the payload, Redis, this process or
 * the launcher's control socket. They are files of this host's blob store (`<WARMBOX_DATA>/blobs`):
 * the API's own when the worker shares its host, else fetched from the API by digest first
 * (worker/blob-access.ts).
 */
import { isBlobFile, type JobPayload } from '../contract/job-payload.js';
import type { RunMessage } from '../runtime/launcher-protocol.js';
import { MissingBlobError, type BlobAccess } from './blob-access.js';

export { MissingBlobError };

export interface JobInputs {
  files: RunMessage['files'];
  hostFiles: NonNullable<RunMessage['hostFiles']>;
  stdin: Buffer;
  stdinFile?: string;
}

/** The job's stdin and files: inline bytes decoded, blobs as paths of this host's store. */
export async function jobInputs(job: Pick<JobPayload, 'stdinBase64' | 'stdinBlob' | 'files'>, blobs: BlobAccess | undefined): Promise<JobInputs> {
  const inputs: JobInputs = { files: [], hostFiles: [], stdin: Buffer.from(job.stdinBase64, 'base64') };
  if (job.stdinBlob !== undefined) inputs.stdinFile = await blobPath(blobs, job.stdinBlob);
  for (const f of job.files) {
    if (isBlobFile(f)) inputs.hostFiles.push({ path: f.path, hostPath: await blobPath(blobs, f.blob), mode: f.mode });
    else inputs.files.push({ path: f.path, content: Buffer.from(f.contentBase64, 'base64'), mode: f.mode });
  }
  return inputs;
}

function blobPath(blobs: BlobAccess | undefined, digest: string): Promise<string> {
  if (blobs === undefined) throw new MissingBlobError(`the job references blob ${digest}, but this worker has no blob store`);
  return blobs.ensure(digest);
}
