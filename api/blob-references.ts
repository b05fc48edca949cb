/**
 * A job may reference blobs (its stdin, its files) only of its own tenant: one it has not uploaded,
 * or that does not exist, is refused at submission (422 blob_not_found) rather than failing on a
 * worker. Checked right before the jobs are recorded, in the same synchronous step: once the rows
 * exist, their references pin the blobs against collection (api/blob-gc.ts).
 */
import { isBlobFile, type JobPayload } from '../contract/job-payload.js';
import { findBlob } from '../db/blobs.js';
import type { WarmboxDb } from '../db/client.js';
import { ApiError } from './errors.js';

export function checkBlobReferences(db: WarmboxDb, tenantId: string, payloads: JobPayload[], prefix?: (index: number) => string): void {
  payloads.forEach((payload, i) => {
    for (const { field, digest } of referencesOf(payload)) {
      if (findBlob(db, tenantId, digest) !== undefined) continue;
      const at = prefix === undefined ? field : `${prefix(i)}.${field}`;
      throw new ApiError(422, 'blob_not_found', `${at}: no blob ${digest} (upload it with POST /v1/blobs first)`, {
        field: at,
        digest,
        ...(prefix !== undefined && { index: i }),
      });
    }
  });
}

function referencesOf(payload: JobPayload): { field: string; digest: string }[] {
  const refs = payload.stdinBlob === undefined ? [] : [{ field: 'stdin.blob', digest: payload.stdinBlob }];
  payload.files.forEach((f, i) => {
    if (isBlobFile(f)) refs.push({ field: `files[${i}].blob`, digest: f.blob });
  });
  payload.interactor?.files.forEach((f, i) => {
    if (isBlobFile(f)) refs.push({ field: `interactor.files[${i}].blob`, digest: f.blob });
  });
  return refs;
}
