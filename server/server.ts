/**
 * `warmbox server` and `warmbox worker`: the API, a worker, or both (WARMBOX_ROLE), over one Redis
 * and one db. Start-up reads as the checklist it is; close() undoes it in reverse.
 *
 * Several workers share one Redis: they all take jobs from the one BullMQ jobs queue, and keep
 * each other's pools warm through worker/pool-coordinator.ts (README "Pools and scheduling").
 */
import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createApp } from '../api/app.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { launcherPath, packageRoot } from '../contract/paths.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import type { SnapshotStore } from '../images/image-store.js';
import { SandboxPools } from '../runtime/sandbox-pools.js';
import { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { FinishedNotifier } from '../queue/finished-notifier.js';
import { ImageQueue } from '../queue/image-queue.js';
import { recordImage } from '../worker/image-record.js';
import { ImageWorker } from '../worker/image-worker.js';
import { ImageResolver } from '../worker/image-resolver.js';
import { CancelListener } from '../queue/job-cancel.js';
import { JobQueue } from '../queue/job-queue.js';
import { StoreUsagePublisher } from '../queue/store-usage.js';
import { JobRunner } from '../worker/job-runner.js';
import { startJobWorker } from '../queue/job-worker.js';
import { PoolCoordinator } from '../worker/pool-coordinator.js';
import { JobReconciler } from '../worker/job-reconciler.js';
import type { ImageOpsConfig } from './image-config.js';
import type { ServerConfig } from './config.js';
import { PrivateRedis } from './private-redis.js';
import { connectRedis, redisOptions } from './redis-connection.js';
import { checkExternalRedis } from './redis-settings.js';
import { openSnapshotStore } from './snapshot-store.js';

export interface RunningServer {
  /** The API's address; absent in a worker-only process (it opens no HTTP port). */
  url?: string;
  /** `hostname-pid`; absent in an API-only process. */
  workerId?: string;
  close(): Promise<void>;
}

/** What start-up steps share. */
interface StartContext {
  config: ServerConfig;
  redisUrl: string;
  redis: Redis;
  dbHandle: DatabaseHandle;
  log: Logger;
  closers: Closer[];
  imageConfig: ImageOpsConfig;
  /** Set by the API when it runs in this process, for a worker beside it; and by the worker, for the reconciler. */
  local: { notifier?: FinishedNotifier; runner?: JobRunner };
}

/** Undo steps, run in reverse order by close(). */
type Closer = () => unknown;

export async function startServer(config: ServerConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const closers: Closer[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const imageConfig = config.images;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const redisUrl = config.redisUrl ?? (await startPrivateRedis(config.dataDir, closers, log));
    const redis = await connectRedis(redisUrl);
    closers.push(() => redis.quit());
    if (config.redisUrl !== undefined) await checkExternalRedis(redis, redisUrl, { allowEviction: config.redisAllowEviction }, log);
    const dbHandle = openDatabase(join(config.dataDir, 'warmbox.db'));
    closers.push(() => dbHandle.close());
    // With role `all`, the worker wakes the API's waiting requests directly, a Redis round trip sooner.
    const ctx: StartContext = { config, redisUrl, redis, dbHandle, log, closers, imageConfig, local: {} };
    const workerId = config.role === 'api' ? undefined : await startWorker(ctx);
    const http = config.role === 'worker' ? undefined : await startApi(ctx);
    startReconciler(ctx);
    const url = http && `http://${formatHost(http.address() as AddressInfo)}`;
    log.info({ role: config.role, url, workerId, dataDir: config.dataDir, redis: redisUrl }, `warmbox ${config.role === 'worker' ? 'worker' : 'server'} ready`);
    return { url, workerId, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A worker: the snapshot store, the sandbox runtime, warm pools kept in step with the other
 * workers, and the BullMQ consumer of the shared jobs queue. Returns its id.
 */
async function startWorker(ctx: StartContext): Promise<string> {
  const { config, redisUrl, redis, dbHandle, log, closers, imageConfig, local } = ctx;
  const workerId = `${hostname()}-${process.pid}`;
  const store = await openStore(config.dataDir, imageConfig, dbHandle, log);
  const runtime = await openRuntime(config, log, closers);
  const shutdown = { started: false };
  const pools = await startPools(config, runtime, store, log, shutdown);
  closers.push(() => pools.close());
  // Creations still in flight when the pools close fail ("the launcher zygote is closing"): expected, not worth a warning each.
  closers.push(() => (shutdown.started = true));
  const images = new ImageResolver(store);
  const coordinator = await PoolCoordinator.start({
    workerId,
    hostname: hostname(),
    pid: process.pid,
    concurrency: config.concurrency,
    redis,
    pools,
    images,
    maxParkedTotal: config.pools.maxTotal,
    log,
  });
  closers.push(() => coordinator.close());
  const usage = await StoreUsagePublisher.start({ redis, workerId, measure: () => store.diskUsage(), log });
  closers.push(() => usage.close());
  const imageWorker = ImageWorker.start({
    connection: redisOptions(redisUrl) as ConnectionOptions,
    redis,
    store,
    db: dbHandle.db,
    registry: imageConfig.registry,
    resolver: images,
    pools,
    gcMinAgeMs: imageConfig.gcMinAgeMs,
    debCacheDir: join(config.dataDir, 'cache', 'debootstrap'),
    hostPaths: [config.dataDir, packageRoot()],
    log,
    onStoreChanged: () => void usage.publish(),
  });
  closers.push(() => imageWorker.close());
  const runner = new JobRunner({
    images,
    pools,
    db: dbHandle.db,
    redis,
    log,
    pull: (reference) => imageWorker.pullLocal(reference),
    onFinished: (id) => local.notifier?.announceLocal(id),
  });
  const cancels: { listener?: CancelListener } = {};
  local.runner = runner;
  const worker = startJobWorker({
    connection: redisOptions(redisUrl) as ConnectionOptions,
    name: workerId,
    concurrency: config.concurrency,
    runner,
    cancelledBeforeStart: (id) => cancels.listener?.takePending(id) ?? false,
  });
  worker.on('error', (err) => log.error({ err }, 'job worker error'));
  worker.on('active', (job) => coordinator.noteJobTaken(job.data.image));
  // Closed before the coordinator (closers run in reverse): this worker stays in the pool registry,
  // its heartbeat, until its jobs have ended, or a reconcile sweep could judge it dead (job-reconciler.ts).
  closers.push(() => worker.close());
  cancels.listener = await CancelListener.start(redis, worker, log);
  closers.push(() => cancels.listener?.close());
  return workerId;
}

/**
 * The db/queue reconcile sweep, in every process whatever its role (one at a time sweeps, under
 * a Redis lock): an API-only deployment repairs jobs whose workers died too.
 */
function startReconciler(ctx: StartContext): void {
  const { config, redis, dbHandle, log, closers, local } = ctx;
  const reconciler = JobReconciler.start({
    db: dbHandle.db,
    redis,
    log,
    intervalMs: config.reconcile.intervalMs,
    graceMs: config.reconcile.graceMs,
    runsHere: (id) => local.runner?.isRunning(id) ?? false,
    onFinished: (id) => local.notifier?.announceLocal(id),
  });
  closers.push(() => reconciler.close());
}

/**
 * The sandbox runtime, with a run directory of this process's own (its launcher socket and the
 * sandboxes' mount point): several workers may share one data directory.
 */
async function openRuntime(config: ServerConfig, log: Logger, closers: Closer[]): Promise<SandboxRuntime> {
  const runDir = join(config.dataDir, 'run', String(process.pid));
  closers.push(() => removeRunDir(runDir));
  const runtime = await SandboxRuntime.open(
    { runDir, launcherPath: config.launcherPath ?? launcherPath(), uid: config.sandboxUid, uidCount: config.sandboxUidCount, gid: config.sandboxGid },
    (line) => log.warn({ launcher: line }, 'sandbox launcher'),
  );
  closers.push(() => runtime.close());
  log.info({ cgroups: runtime.cgroups.version, runDir }, 'sandbox runtime open');
  return runtime;
}

/** Only empty directories and the socket go: never a recursive delete under a mount point. */
function removeRunDir(runDir: string): void {
  try {
    rmSync(join(runDir, 'launcher.sock'), { force: true });
    rmdirSync(join(runDir, 'mnt'));
    rmdirSync(runDir);
  } catch {
    // Left for the next start of a process with this pid; harmless.
  }
}

/** Warm pools, with the configured images pre-warmed. */
async function startPools(config: ServerConfig, runtime: SandboxRuntime, store: SnapshotStore, log: Logger, shutdown: { started: boolean }): Promise<SandboxPools> {
  const pools = new SandboxPools(
    runtime,
    { defaultBounds: { min: config.pools.min, max: config.pools.max }, maxParkedTotal: config.pools.maxTotal, defaultDiskBytes: DEFAULT_LIMITS.diskBytes },
    (err) => (shutdown.started ? log.debug({ err }, 'a parked sandbox was being made at shutdown') : log.warn({ err }, 'making a parked sandbox failed')),
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
  const redis = await PrivateRedis.start(dataDir, {
    died: (detail) => log.error({ detail }, 'the private redis-server died; starting it again'),
    restarted: () => log.warn({ pid: redis.pid }, 'the private redis-server runs again (its AOF kept the queue)'),
    restartFailed: (err) => log.error({ err }, 'starting the private redis-server again failed; retrying'),
  });
  closers.push(() => redis.stop());
  log.info({ socket: redis.socketPath, pid: redis.pid }, 'started a private redis-server with AOF persistence (set WARMBOX_REDIS_URL to use your own)');
  return redis.url;
}

/** Opens the snapshot store, makes sure the built-in images exist, and lists every image in the db. */
async function openStore(dataDir: string, imageConfig: ImageOpsConfig, dbHandle: DatabaseHandle, log: Logger): Promise<SnapshotStore> {
  const store = await openSnapshotStore(dataDir, imageConfig);
  const broken = (image: string, err: unknown) => log.error({ image, err }, 'image in the store is damaged and not offered: pull or import it again');
  for (const image of await store.list(broken)) await recordImage(dbHandle.db, store, image);
  return store;
}

async function startApi(ctx: StartContext): Promise<ServerType> {
  const { config, redis, dbHandle, log, closers, imageConfig, local } = ctx;
  const queue = new JobQueue(redis);
  closers.push(() => queue.close());
  const notifier = await FinishedNotifier.start(redis, log);
  closers.push(() => notifier.close());
  local.notifier = notifier;
  const images = await ImageQueue.start({
    redis,
    uploadDir: join(config.dataDir, 'uploads'),
    pullTimeoutMs: imageConfig.pullTimeoutMs,
    importMaxBytes: imageConfig.importMaxBytes,
    log,
  });
  closers.push(() => images.close());
  const app = createApp({
    db: dbHandle.db,
    queue,
    notifier,
    redis,
    images,
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
