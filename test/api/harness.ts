/**
 * The API over real parts: a SQLite file in a temp dir, a private redis-server, the real JobQueue
 * and FinishedNotifier. `finish()` plays the worker's side of the protocol (db, output stream,
 * publish), which is what a worker does, not a stand-in for the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApp, type AppDeps, type ApiConfig } from '../../api/app.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { upsertImage } from '../../db/images.js';
import { finishJob, markRunning } from '../../db/jobs.js';
import { FinishedNotifier, publishFinished } from '../../queue/finished-notifier.js';
import type { JobResult } from '../../contract/job-payload.js';
import { JobQueue } from '../../queue/job-queue.js';
import { appendOutput, endOutput } from '../../queue/output-stream.js';
import { CHANNEL_FINISHED } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

export const BUSYBOX = 'docker.io/library/busybox:latest';

export interface ApiHarness {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  server: TestRedis;
  redis: Redis;
  handle: DatabaseHandle;
  /** Another app on the same parts, with other config. */
  appWith(config: Partial<ApiConfig>): ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function startApiHarness(config: Partial<ApiConfig> = {}): Promise<ApiHarness> {
  const server = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'warmbox-api-test-'));
  const handle = await openDatabase(join(dir, 'warmbox.db'));
  await upsertImage(handle.db, { reference: BUSYBOX, digest: 'sha256:' + 'b'.repeat(64), config: {}, sizeBytes: 1, createdAt: 1 });
  const redis = new Redis(server.port, server.host);
  await redis.ping(); // ready: JobQueue refuses at once while its connection is still connecting
  const queue = new JobQueue(redis);
  const notifier = await FinishedNotifier.start(redis);
  const deps: AppDeps = {
    db: handle.db,
    queue,
    notifier,
    redis,
    config: { maxWaitMs: 10_000, defaultWaitMs: 5_000, ...config },
    logger: pino({ level: 'silent' }),
  };
  return {
    app: createApp(deps),
    deps,
    server,
    redis,
    handle,
    appWith: (more) => createApp({ ...deps, config: { ...deps.config, ...more } }),
    async close() {
      await notifier.close();
      await queue.close();
      redis.disconnect();
      handle.close();
      rmSync(dir, { recursive: true, force: true });
      await server.stop();
    },
  };
}

export function okResult(stdout = 'hi\n'): JobResult {
  return {
    verdict: 'ok',
    exitCode: 0,
    signal: null,
    stdout,
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    usage: { cpuTimeMs: 1, wallTimeMs: 2, memoryPeakBytes: 1 << 20 },
    start: 'warm',
    timings: { queuedMs: 1, pullMs: 0, acquireMs: 0, runMs: 2, totalMs: 3 },
  };
}

/**
 * The worker's side of one job: running, its output, the result in the db, the end, the publish
 * (with `withNotice`, carrying the result as recorded, as worker/job-runner.ts publishes it).
 */
export async function finish(
  h: Pick<ApiHarness, 'handle' | 'redis'>,
  id: string,
  output: { channel: 'stdout' | 'stderr'; data: Buffer }[] = [],
  result: JobResult = okResult(),
  withNotice = false,
): Promise<void> {
  const digest = 'sha256:' + 'b'.repeat(64);
  const startedAt = Date.now();
  await markRunning(h.handle.db, id, startedAt, digest);
  for (const chunk of output) await appendOutput(h.redis, id, chunk.channel, chunk.data);
  const finishedAt = Date.now();
  await finishJob(h.handle.db, id, result, finishedAt);
  await endOutput(h.redis, id);
  await publishFinished(h.redis, id, withNotice ? { id, digest, startedAt, finishedAt, result } : undefined);
}

/** Until the notifier's subscription is (re-)established on the server. */
export async function waitForFinishedSubscriber(redis: Redis): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
    const [, count] = (await redis.pubsub('NUMSUB', CHANNEL_FINISHED)) as [string, number];
    if (count > 0) return;
  }
  throw new Error(`nobody subscribed to ${CHANNEL_FINISHED}`);
}

export function postJob(app: ApiHarness['app'], body: unknown, query = ''): Promise<Response> {
  return Promise.resolve(
    app.request(`/v1/jobs${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

export interface ErrorJson {
  error: { code: string; message: string; field?: string; maximum?: number; minimum?: number; [k: string]: unknown };
}
