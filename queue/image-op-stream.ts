/**
 * One image operation's events in a Redis Stream (key: imageOpStreamKey). Entries are
 * `{ t: <event type>, d: <the event's other fields as JSON> }`; the last is `end`, after which the
 * worker publishes the operation id on CHANNEL_IMAGE_OP_ENDED. The stream expires
 * IMAGE_OP_STREAM_TTL_S after its first entry, and again after the end.
 */
import type { Redis } from 'ioredis';
import type { ImageOpEvent, ImageOpOutcome } from '../contract/image-op.js';
import { CHANNEL_IMAGE_OP_ENDED, IMAGE_OP_STREAM_TTL_S, imageOpStreamKey } from './redis-keys.js';

export type ImageOpEntry = ImageOpEvent & { id: string };

/** Stream id before every entry: read from here to replay the whole operation. */
export const IMAGE_OP_START = '0';

const EVENT_TYPES = new Set<string>(['queued', 'status', 'progress', 'log', 'end']);

/**
 * Appends one event. Commands on one connection run in the order issued, so a writer need not
 * await one append before the next (it must still handle each promise's rejection).
 */
export async function appendImageOpEvent(redis: Redis, opId: string, event: ImageOpEvent): Promise<void> {
  const key = imageOpStreamKey(opId);
  const { type, ...rest } = event;
  await Promise.all([redis.xadd(key, '*', 't', type, 'd', JSON.stringify(rest)), redis.expire(key, IMAGE_OP_STREAM_TTL_S, 'NX')]);
}

/** Writes the outcome as the last event, renews the expiry and wakes the API processes that wait. */
export async function endImageOp(redis: Redis, opId: string, outcome: ImageOpOutcome): Promise<void> {
  const key = imageOpStreamKey(opId);
  await Promise.all([redis.xadd(key, '*', 't', 'end', 'd', JSON.stringify({ outcome })), redis.expire(key, IMAGE_OP_STREAM_TTL_S)]);
  await redis.publish(CHANNEL_IMAGE_OP_ENDED, opId);
}

/**
 * Entries after `fromId`, at most `count`. With `blockMs` (0 = forever) waits for the first and
 * returns [] on timeout; a blocking read holds its connection, so give it a dedicated one
 * (`redis.duplicate()`) and disconnect that to cancel. With `blockMs` null returns at once.
 */
export async function readImageOpEvents(redis: Redis, opId: string, fromId: string, blockMs: number | null, count = 256): Promise<ImageOpEntry[]> {
  const key = imageOpStreamKey(opId);
  const reply =
    blockMs === null
      ? await redis.xread('COUNT', count, 'STREAMS', key, fromId)
      : await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, fromId);
  const items = reply?.[0]?.[1] ?? [];
  return items.map(([id, fields]) => toEntry(id, fields));
}

/** The outcome, when the operation has ended (its last entry is `end`); undefined otherwise. */
export async function readImageOpOutcome(redis: Redis, opId: string): Promise<ImageOpOutcome | undefined> {
  const last = (await redis.xrevrange(imageOpStreamKey(opId), '+', '-', 'COUNT', 1))[0];
  if (last === undefined) return undefined;
  const entry = toEntry(last[0], last[1]);
  return entry.type === 'end' ? entry.outcome : undefined;
}

/** The first entry (`queued`, when the API wrote it), or undefined when there is no such stream. */
export async function readImageOpFirst(redis: Redis, opId: string): Promise<ImageOpEntry | undefined> {
  const first = (await redis.xrange(imageOpStreamKey(opId), '-', '+', 'COUNT', 1))[0];
  return first && toEntry(first[0], first[1]);
}

function toEntry(id: string, fields: string[]): ImageOpEntry {
  let type: string | undefined;
  let data: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 't') type = fields[i + 1];
    else if (fields[i] === 'd') data = fields[i + 1];
  }
  if (type === undefined || !EVENT_TYPES.has(type) || data === undefined) {
    throw new Error(`malformed image operation stream entry ${id}: t=${String(type)}`);
  }
  return { ...(JSON.parse(data) as object), type, id } as ImageOpEntry;
}
