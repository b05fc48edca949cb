/**
 * The end of a job in Redis as one command (EVALSHA, loaded once per connection by ioredis): the
 * output stream's end entry, the stream's expiry, and the finished message on CHANNEL_FINISHED.
 * Three commands per job were three to encode, send, parse and settle on the worker's event loop
 * and three for Redis to run; a script runs them atomically in one.
 *
 *   KEYS[1]  the job's output stream (outputStreamKey)
 *   ARGV[1]  OUTPUT_STREAM_TTL_S
 *   ARGV[2]  CHANNEL_FINISHED
 *   ARGV[3]  the finished message (finishedMessage: the id, or the id and its notice)
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { finishedMessage, type FinishedNotice } from './finished-notifier.js';
import { CHANNEL_FINISHED, OUTPUT_STREAM_TTL_S, outputStreamKey } from './redis-keys.js';

const END_JOB = `
redis.call('XADD', KEYS[1], '*', 't', 'end')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('PUBLISH', ARGV[2], ARGV[3])
`;

const END_JOB_SHA1 = createHash('sha1').update(END_JOB).digest('hex');

/**
 * Ends the job's output stream and announces it finished (with the notice, when it fits the channel).
 * EVALSHA, and EVAL once when Redis does not know the script (a restart flushed its cache). Not
 * ioredis's defineCommand: with auto-pipelining on, a command defined while a pipeline of the same
 * client is pending (made before it, so lacking the method) broke that pipeline and threw an
 * uncaught TypeError that ended the process (`pipeline[functionName] is not a function`).
 */
export async function endJobInRedis(redis: Redis, id: string, notice?: FinishedNotice): Promise<void> {
  const args = [1, outputStreamKey(id), OUTPUT_STREAM_TTL_S, CHANNEL_FINISHED, finishedMessage(id, notice)] as const;
  try {
    await redis.evalsha(END_JOB_SHA1, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    await redis.eval(END_JOB, ...args);
  }
}
