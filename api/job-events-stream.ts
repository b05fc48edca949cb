/**
 * The body of GET /v1/jobs/{id}/events: the job's output stream replayed from `fromId` and
 * followed live, then `end` with the finished job from the db.
 *
 * A job that is finished already is read without blocking, on the shared connection. Otherwise
 * blocking reads need a connection of their own: one per client, made here and disconnected when
 * the client goes (which also cancels a read in progress). When the stream stays silent for
 * keepAliveMs the db is read again, so a job that ended without an output stream (it expired, or
 * the worker never wrote one) still ends the events.
 */
import { isUtf8 } from 'node:buffer';
import type { SSEStreamingApi } from 'hono/streaming';
import type { Redis } from 'ioredis';
import { getJob } from '../db/jobs.js';
import type { JobRow } from '../db/schema.js';
import { readOutput } from '../queue/output-stream.js';
import type { AppDeps } from './deps.js';
import { toJobView } from './job-view.js';

export interface OutputChunkEvent {
  data: string;
  encoding: 'utf8' | 'base64';
}

export async function streamJobEvents(
  sse: SSEStreamingApi,
  deps: AppDeps,
  jobId: string,
  fromId: string,
  keepAliveMs: number,
  clientGone: AbortSignal,
): Promise<void> {
  let dedicated: Redis | undefined;
  const disconnect = () => dedicated?.disconnect();
  clientGone.addEventListener('abort', disconnect, { once: true });
  try {
    for (let from = fromId; ; ) {
      const job = await getJob(deps.db, jobId);
      if (job === undefined || clientGone.aborted) return;
      const finished = job.status === 'finished';
      if (!finished) dedicated ??= blockingConnection(deps);
      let entries;
      try {
        entries = finished
          ? await readOutput(deps.redis, jobId, from, null)
          : await readOutput(dedicated!, jobId, from, keepAliveMs);
      } catch (err) {
        if (clientGone.aborted) return;
        throw err;
      }
      if (entries.length === 0) {
        if (finished) return await sendEnd(sse, job);
        await sse.write(': keep-alive\n\n');
        continue;
      }
      for (const entry of entries) {
        if (entry.type === 'end') return await sendEnd(sse, (await getJob(deps.db, jobId)) ?? job);
        await sse.writeSSE({ event: entry.type, id: entry.id, data: JSON.stringify(encodeChunk(entry.data)) });
        from = entry.id;
      }
    }
  } finally {
    clientGone.removeEventListener('abort', disconnect);
    dedicated?.disconnect();
  }
}

/** Each chunk's bytes exactly: as text when they are valid UTF-8, else base64. */
export function encodeChunk(bytes: Buffer): OutputChunkEvent {
  return isUtf8(bytes) ? { data: bytes.toString('utf8'), encoding: 'utf8' } : { data: bytes.toString('base64'), encoding: 'base64' };
}

async function sendEnd(sse: SSEStreamingApi, job: JobRow): Promise<void> {
  await sse.writeSSE({ event: 'end', data: JSON.stringify(toJobView(job)) });
}

function blockingConnection(deps: AppDeps): Redis {
  const conn = deps.redis.duplicate();
  conn.on('error', (err: Error) => deps.logger.warn({ err }, 'job events: Redis connection error'));
  return conn;
}
