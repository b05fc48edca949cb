/**
 * Image operations as they travel: what the API enqueues (ImageOpData), the events a worker writes
 * while it works (ImageOpEvent, in the operation's Redis Stream: queue/image-op-stream.ts), and how it
 * ended (ImageOpOutcome, the stream's last event). The db's `images` table is the record of what
 * the operations produced; an outcome names the references it wrote there.
 */
import type { PullProgress } from './pull-progress.js';
import type { RecipeName } from './recipe-names.js';

export type ImageOpKind = 'pull' | 'import' | 'remove' | 'build' | 'gc';

/** BullMQ job data of the images queue; the BullMQ job id is the operation id. */
export type ImageOpData =
  | { kind: 'pull'; reference: string }
  /** archive: the upload's digest in the API's blob store, which a worker on another host fetches by it. */
  | { kind: 'import'; archive: string; reference?: string }
  /** force: remove even while jobs of the image are queued or running (`rmi -f`). */
  | { kind: 'remove'; reference: string; force?: boolean }
  | { kind: 'build'; recipe: RecipeName; reference: string }
  /** A collection of what no ref names, deferred while sandboxes still mounted a removed image's layers. */
  | { kind: 'gc' };

/** What an operation is about, for messages and GET /v1/images/operations/{id}. */
export function subjectOf(data: ImageOpData): string {
  switch (data.kind) {
    case 'pull':
    case 'remove':
    case 'build':
      return data.reference;
    case 'import':
      return data.reference ?? '(archive)';
    case 'gc':
      return '(store)';
  }
}

/**
 * Error codes of failed operations: the runtime's (ImagePullErrorCode, ImageImportErrorCode,
 * ImageStoreErrorCode), 'invalid_reference', and these of the worker's own.
 */
export type ImageOpErrorCode =
  | string
  | 'image_not_found'   // remove: no such reference in this worker's store
  | 'image_in_use'      // remove: jobs of the image are queued or running
  | 'internal_error';   // anything else (the worker's log has the stack)

export interface ImageOpError {
  code: ImageOpErrorCode;
  /** Never a path of the worker's host (worker/host-paths.ts). */
  message: string;
  /** The document field at fault, when there is one: 'config.WorkingDir'. */
  field?: string;
}

export type ImageOpOutcome =
  | {
      ok: true;
      /** References the operation wrote to the db's images table (none for remove and gc). */
      references: string[];
      /** For remove: what was untagged, and what the collection freed. */
      removed?: { reference: string; digest: string; freedBytes: number };
      durationMs: number;
    }
  | { ok: false; error: ImageOpError; durationMs: number };

export type ImageOpEvent =
  /** Written by whoever enqueued the operation. */
  | { type: 'queued'; kind: ImageOpKind; subject: string; at: number }
  | { type: 'status'; message: string }
  | ({ type: 'progress' } & PullProgress)
  /** A line of a build's output. */
  | { type: 'log'; line: string }
  | { type: 'end'; outcome: ImageOpOutcome };

export type ImageOpEventType = ImageOpEvent['type'];
