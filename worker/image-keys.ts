/**
 * Redis names of image operations (pull, import, remove, build). They live apart from
 * redis-keys.ts only while that file is being changed elsewhere; BullMQ's prefix is shared.
 */
export { BULL_PREFIX } from './redis-keys.js';

/** BullMQ queue of image operations, consumed by every worker (worker/image-worker.ts). */
export const QUEUE_IMAGES = 'warmbox-images';

/**
 * Redis Stream of one operation's events, written by the worker that performs it. Entries are
 * `{ t: <event type>, d: <JSON> }` (see image-op.ts): `queued` first (written by the API),
 * then `status`, `progress` and `log`, and one last `end` with the outcome. Expires
 * IMAGE_OP_STREAM_TTL_S after the end (or after its first entry, if no end ever comes).
 */
export function imageOpStreamKey(opId: string): string {
  return `warmbox:image-op:${opId}:events`;
}
export const IMAGE_OP_STREAM_TTL_S = 3600;

/** Pub/sub channel: an operation id, published once the operation's `end` entry is written. */
export const CHANNEL_IMAGE_OP_ENDED = 'warmbox:image-ops:ended';

/**
 * BullMQ deduplication id of an operation on one reference: while such an operation is queued or
 * running, the same request joins it instead of adding another (imports are never deduplicated).
 */
export function imageOpDedupId(kind: 'pull' | 'remove' | 'build', subject: string): string {
  return `${kind}:${subject}`;
}
