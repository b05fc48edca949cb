/**
 * A job's live output in a Redis Stream (key: outputStreamKey). Entries are
 * `{ t: 'stdout' | 'stderr', d: <raw bytes> }`, then one `{ t: 'end' }` written after the result
 * is in the db. Bytes are stored and read as Buffers, so binary output survives exactly.
 */
import type { Redis } from 'ioredis';
import { OUTPUT_STREAM_TTL_S, outputStreamKey } from './redis-keys.js';

export type OutputChannel = 'stdout' | 'stderr';

export type OutputEntry =
  | { id: string; type: OutputChannel; data: Buffer }
  | { id: string; type: 'end' };

/**
 * Appends one chunk. Commands on one ioredis connection run in the order they were issued, so a
 * writer need not await one append before the next; it must still handle the promise's rejection.
 * The stream gets a TTL on its first chunk, so a worker that dies before endOutput leaves nothing forever.
 */
export async function appendOutput(redis: Redis, jobId: string, channel: OutputChannel, chunk: Buffer): Promise<void> {
  const key = outputStreamKey(jobId);
  await Promise.all([redis.xadd(key, '*', 't', channel, 'd', chunk), redis.expire(key, OUTPUT_STREAM_TTL_S, 'NX')]);
}

/** Marks the end of the output (call after the result is in the db); the stream expires OUTPUT_STREAM_TTL_S later. */
export async function endOutput(redis: Redis, jobId: string): Promise<void> {
  const key = outputStreamKey(jobId);
  await Promise.all([redis.xadd(key, '*', 't', 'end'), redis.expire(key, OUTPUT_STREAM_TTL_S)]);
}

/** Stream id before every entry: read from here to replay the whole output. */
export const OUTPUT_START = '0';

/**
 * Entries after `fromId`, at most `count`. With `blockMs` (0 = forever) waits for the first entry
 * and returns [] on timeout; a blocking read holds the connection, so give it a dedicated one
 * (`redis.duplicate()`), and disconnect that to cancel. With `blockMs` null returns at once.
 */
export async function readOutput(
  redis: Redis,
  jobId: string,
  fromId: string,
  blockMs: number | null,
  count = 64,
): Promise<OutputEntry[]> {
  const key = outputStreamKey(jobId);
  const reply =
    blockMs === null
      ? await redis.xreadBuffer('COUNT', count, 'STREAMS', key, fromId)
      : await redis.xreadBuffer('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, fromId);
  const items = reply?.[0]?.[1] ?? [];
  return items.map(([id, fields]) => toEntry(id.toString(), fields));
}

function toEntry(id: string, fields: Buffer[]): OutputEntry {
  let type: string | undefined;
  let data: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    if (name === 't') type = fields[i + 1]!.toString();
    else if (name === 'd') data = fields[i + 1];
  }
  if (type === 'end') return { id, type };
  if ((type === 'stdout' || type === 'stderr') && data !== undefined) return { id, type, data };
  throw new Error(`malformed output stream entry ${id}: t=${String(type)}`);
}
