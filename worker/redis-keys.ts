/** Every Redis key and channel name warmbox uses, built in one place. */
export const QUEUE_JOBS = 'warmbox-jobs';
export const QUEUE_WEBHOOKS = 'warmbox-webhooks';
/** BullMQ key prefix (its default is `bull`). */
export const BULL_PREFIX = 'warmbox';

/** Pub/sub channel: the worker publishes a job id here once its result is in the db. */
export const CHANNEL_FINISHED = 'warmbox:jobs:finished';

/**
 * Redis Stream of one job's live output. Entries: `{ t: 'stdout' | 'stderr', d: <bytes> }`,
 * and a last `{ t: 'end' }` after the result is in the db. Expires OUTPUT_STREAM_TTL_S after the end.
 */
export function outputStreamKey(jobId: string): string {
  return `warmbox:job:${jobId}:output`;
}
export const OUTPUT_STREAM_TTL_S = 3600;
