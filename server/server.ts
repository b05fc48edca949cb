/**
 * `warmbox server`: one process with the API and a worker, over one Redis and one db.
 * Start-up reads as the checklist it is; close() undoes it in reverse.
 */
import { mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createApp } from '../api/app.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { upsertImage } from '../db/images.js';
import { ensureBuiltinImages } from '../runtime/builtin-images.js';
import { SnapshotStore } from '../runtime/image-store.js';
import { launcherPath } from '../runtime/paths.js';
import { DEFAULT_LIMITS } from '../runtime/limits.js';
import { SandboxPools } from '../runtime/sandbox-pools.js';
import { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { FinishedNotifier } from '../worker/finished-notifier.js';
import { ImageResolver } from '../worker/image-resolver.js';
import { JobQueue } from '../worker/job-queue.js';
import { JobRunner } from '../worker/job-runner.js';
import { startJobWorker } from '../worker/job-worker.js';
import type { ServerConfig } from './config.js';
import { PrivateRedis } from './private-redis.js';
import { connectRedis, redisOptions } from './redis-connection.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Undo steps, run in reverse order by close(). */
type Closer = () => unknown;

export async function startServer(config: ServerConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const closers: Closer[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const redisUrl = config.redisUrl ?? (await startPrivateRedis(config.dataDir, closers, log));
    const redis = await connectRedis(redisUrl);
    closers.push(() => redis.quit());
    const dbHandle = openDatabase(join(config.dataDir, 'warmbox.db'));
    closers.push(() => dbHandle.close());
    const store = await openStore(config.dataDir, dbHandle);
    const runtime = await SandboxRuntime.open({ runDir: join(config.dataDir, 'run'), launcherPath: config.launcherPath ?? launcherPath(), uid: config.sandboxUid, uidCount: config.sandboxUidCount, gid: config.sandboxGid }, (line) => log.warn({ launcher: line }, 'sandbox launcher'));
    closers.push(() => runtime.close());
    const pools = await startPools(config, runtime, store, log);
    closers.push(() => pools.close());
    const runner = new JobRunner({ images: new ImageResolver(store), pools, db: dbHandle.db, redis, log });
    const worker = startJobWorker({ connection: redisOptions(redisUrl) as ConnectionOptions, concurrency: config.concurrency, runner });
    worker.on('error', (err) => log.error({ err }, 'job worker error'));
    closers.push(() => worker.close());
    const http = await startApi(config, redis, dbHandle, log, closers);
    const url = `http://${formatHost(http.address() as AddressInfo)}`;
    log.info({ url, dataDir: config.dataDir, redis: redisUrl, cgroups: runtime.cgroups.version }, 'warmbox server ready');
    return { url, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Warm pools, with the configured images pre-warmed. */
async function startPools(config: ServerConfig, runtime: SandboxRuntime, store: SnapshotStore, log: Logger): Promise<SandboxPools> {
  const pools = new SandboxPools(
    runtime,
    { defaultBounds: { min: config.pools.min, max: config.pools.max }, maxParkedTotal: config.pools.maxTotal, defaultDiskBytes: DEFAULT_LIMITS.diskBytes },
    (err) => log.warn({ err }, 'making a parked sandbox failed'),
  );
  for (const { image: reference, min } of config.pools.prewarm) {
    const image = await store.resolve(reference);
    if (!image) {
      log.warn({ image: reference }, 'WARMBOX_PREWARM names an image that is not in the store; skipped');
      continue;
    }
    pools.configure(image, { min, max: Math.max(min, config.pools.max) });
  }
  return pools;
}

async function startPrivateRedis(dataDir: string, closers: Closer[], log: Logger): Promise<string> {
  const redis = await PrivateRedis.start(dataDir);
  closers.push(() => redis.stop());
  log.info({ socket: redis.socketPath }, 'started a private redis-server (set WARMBOX_REDIS_URL to use your own)');
  return redis.url;
}

/** Opens the snapshot store, makes sure the built-in images exist, and lists every image in the db. */
async function openStore(dataDir: string, dbHandle: DatabaseHandle): Promise<SnapshotStore> {
  const store = new SnapshotStore(join(dataDir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  for (const image of await store.list()) {
    upsertImage(dbHandle.db, {
      reference: image.reference,
      digest: image.digest,
      config: { ...image.config },
      sizeBytes: image.sizeBytes,
      createdAt: Date.parse(image.createdAt) || Date.now(),
    });
  }
  return store;
}

async function startApi(config: ServerConfig, redis: Redis, dbHandle: DatabaseHandle, log: Logger, closers: Closer[]): Promise<ServerType> {
  const queue = new JobQueue(redis);
  closers.push(() => queue.close());
  const notifier = await FinishedNotifier.start(redis, log);
  closers.push(() => notifier.close());
  const app = createApp({
    db: dbHandle.db,
    queue,
    notifier,
    redis,
    config: { maxWaitMs: config.maxWaitMs, defaultWaitMs: Math.min(60_000, config.maxWaitMs) },
    logger: log,
  });
  const http = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.listen.host, port: config.listen.port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`cannot listen on ${config.listen.host}:${config.listen.port}: address in use (set WARMBOX_LISTEN)`) : err),
    );
  });
  // A `?wait=true` request may legitimately be held for maxWaitMs: Node's own timeout must not cut it.
  (http as HttpServer).requestTimeout = config.maxWaitMs + 30_000;
  closers.push(
    () =>
      new Promise((resolve) => {
        http.close(resolve);
        (http as HttpServer).closeAllConnections(); // SSE streams and idle keep-alives too
      }),
  );
  return http;
}

function formatHost(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
