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

/** An entry of a coalesced append is at most this big, so that one XREAD (COUNT 64) stays bounded. */
const MAX_ENTRY_BYTES = 256 * 1024;

interface PendingEntry {
  channel: OutputChannel;
  chunks: Buffer[];
  bytes: number;
}

/**
 * One job's live output, appended with coalescing: while one append is in flight, the chunks that
 * follow are joined (per channel, in order) into the next. A job flooding its output then sends a
 * few large entries instead of thousands of small ones, each a command that everything else on the
 * connection would wait behind; a quiet job's chunks still go out at once.
 */
export class OutputAppender {
  private pending: PendingEntry[] = [];
  private inFlight: Promise<void> | undefined;
  private expirySet = false;

  constructor(
    private readonly redis: Redis,
    private readonly jobId: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  write(channel: OutputChannel, chunk: Buffer): void {
    const last = this.pending.at(-1);
    if (last?.channel === channel && last.bytes + chunk.length <= MAX_ENTRY_BYTES) {
      last.chunks.push(chunk);
      last.bytes += chunk.length;
    } else {
      this.pending.push({ channel, chunks: [chunk], bytes: chunk.length });
    }
    this.inFlight ??= this.drain();
  }

  /** Resolves once every chunk written so far is in the stream (or its append failed and was reported). */
  async flushed(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.send(batch).catch(this.onError);
    }
    this.inFlight = undefined;
  }

  /** The stream gets its TTL with its first entry, so a worker that dies before endOutput leaves nothing forever. */
  private async send(batch: PendingEntry[]): Promise<void> {
    const key = outputStreamKey(this.jobId);
    const adds: Promise<unknown>[] = batch.map((e) => this.redis.xadd(key, '*', 't', e.channel, 'd', e.chunks.length === 1 ? e.chunks[0]! : Buffer.concat(e.chunks)));
    if (!this.expirySet) adds.push(this.redis.expire(key, OUTPUT_STREAM_TTL_S, 'NX'));
    this.expirySet = true;
    await Promise.all(adds);
  }
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
