/**
 * `warmbox server` and `warmbox worker`: the API, a worker, or both (WARMBOX_ROLE), over one Redis
 * and one db. Start-up reads as the checklist it is; close() stops gracefully (server-stop.ts:
 * refuse new work, drain running jobs within the grace period) and then undoes start-up in reverse.
 *
 * Several workers share one Redis: they all take jobs from the one BullMQ jobs queue, and keep
 * each other's pools warm through worker/pool-coordinator.ts (README "Pools and scheduling").
 */
import { tenantOf } from '../db/tenants.js';
import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createApp, type AppDeps } from '../api/app.js';
import { JudgeRunKeeper } from '../api/judge-run-resume.js';
import { READINESS_CHECK_TIMEOUT_MS, type ReadinessCheck } from '../api/readiness.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { launcherPath, packageRoot } from '../contract/paths.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import { processVersions } from '../contract/versions.js';
import type { SnapshotStore } from '../images/image-store.js';
import { SandboxPools } from '../runtime/sandbox-pools.js';
import { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { FinishedNotifier } from '../queue/finished-notifier.js';
import { OverloadGate } from '../api/overload-gate.js';
import { ImageQueue } from '../queue/image-queue.js';
import { recordImage } from '../worker/image-record.js';
import { findImage } from '../db/images.js';
import { BUSYBOX_IMAGE, HELLO_WORLD_IMAGE } from '../images/builtin-images.js';
import { ImageWorker } from '../worker/image-worker.js';
import { ImageResolver } from '../worker/image-resolver.js';
import { CancelListener } from '../queue/job-cancel.js';
import { JobQueue } from '../queue/job-queue.js';
import { StoreUsagePublisher } from '../queue/store-usage.js';
import { JobRunner } from '../worker/job-runner.js';
import { BuildLayerStore } from '../worker/build-layer.js';
import { startJobWorker } from '../queue/job-worker.js';
import { PoolCoordinator } from '../worker/pool-coordinator.js';
import { JobMetrics } from '../worker/job-metrics.js';
import { ImageLabels } from '../worker/metric-labels.js';
import { PoolMetrics } from '../worker/pool-metrics.js';
import { PullMetrics } from '../worker/pull-metrics.js';
import { observeJobQueue } from '../queue/job-queue-metrics.js';
import { JobReconciler } from '../worker/job-reconciler.js';
import type { ImageOpsConfig } from './image-config.js';
import { databaseLocation, type ServerConfig } from './config.js';
import { createLogger } from './logger.js';
import { PrivateRedis } from './private-redis.js';
import { ServerStop, type Closer } from './server-stop.js';
import { WorkerStop } from '../worker/worker-stop.js';
import { connectRedis, redact, redisOptions, type RedisUse } from './redis-connection.js';
import { WebhookQueue } from '../queue/webhook-queue.js';
import { startWebhookDelivery } from './webhook-delivery.js';
import { WebhookMetrics } from '../worker/webhook-metrics.js';
import { checkExternalRedis } from './redis-settings.js';
import { openSnapshotStore } from './snapshot-store.js';
import { startTelemetry, type Telemetry } from './telemetry.js';
import { closeRedis } from '../queue/redis-close.js';
import { RunningSlots } from '../queue/running-slots.js';
import { RetentionSweep } from '../worker/retention-sweep.js';
import { listTenantRetention } from '../db/tenant-policy.js';
import { IDEMPOTENCY_KEY_TTL_MS } from '../api/idempotency.js';
import { LOCAL_TENANT_ID } from '../contract/tenant.js';
import { BlobStore } from '../blobs/blob-store.js';
import { BlobCollector } from '../api/blob-gc.js';
import { BlobCollector as WorkerBlobCollector } from '../blobs/blob-collection.js';
import { pinnedBlobDigests } from '../db/blob-pins.js';
import { BlobAccess } from '../worker/blob-access.js';
import { ImageRemovalListener } from '../queue/image-removals.js';
import { ApiPeers } from '../queue/api-peers.js';
import { PeerBlobs } from '../api/peer-blobs.js';
import { ApiBlobClient } from '../worker/api-blob-client.js';

export interface RunningServer {
  /** The API's address; absent in a worker-only process (it opens no HTTP port). */
  url?: string;
  /** `hostname-pid`; absent in an API-only process. */
  workerId?: string;
  /**
   * Stops gracefully: new work refused at once, running jobs given `graceMs` (default the
   * configured WARMBOX_STOP_GRACE_MS) to finish, then everything closed in reverse order of start.
   */
  close(graceMs?: number): Promise<void>;
  /** A second signal during close(): kills every sandbox and records its job `lost`, synchronously; exit right after. */
  abortNow(): Promise<void>;
}

/** What start-up steps share. */
interface StartContext {
  config: ServerConfig;
  /**
   * `<WARMBOX_DATA>/blobs`: the API stores uploads and imported archives there; a worker reads
   * jobs' blobs from it, fetching what it lacks from the API when it has a host of its own (WARMBOX_API_URL).
   */
  blobs: BlobStore;
  redisUrl: string;
  redis: Redis;
  dbHandle: DatabaseHandle;
  log: Logger;
  closers: Closer[];
  stop: ServerStop;
  imageConfig: ImageOpsConfig;
  /** Where finished jobs' webhook deliveries are queued (by the worker, and by the API's cancels). */
  webhooks: WebhookQueue;
  /**
   * Set by the API when it runs in this process, for a worker beside it (notifier); set by the
   * worker, for the API's GET /readyz (workerChecks) and for the reconciler (runner).
   */
  local: { notifier?: FinishedNotifier; workerChecks?: ReadinessCheck[]; runner?: JobRunner };
  telemetry: Telemetry;
  /** `hostname-pid`: the worker id, and the process's service.instance.id. */
  processId: string;
  /** The `image` label of every metric of this process, capped together. */
  imageLabels: ImageLabels;
}

export async function startServer(config: ServerConfig, log: Logger = createLogger({ level: config.logLevel, format: config.logFormat })): Promise<RunningServer> {
  const stop = new ServerStop(log);
  const closers = stop.closers;
  const close = (graceMs = config.stopGraceMs): Promise<void> => stop.run(graceMs);
  try {
    const processId = `${hostname()}-${process.pid}`;
    const telemetry = await startTelemetry({ instanceId: processId, metricsListen: config.metricsListen, log });
    // First in, so last out (after the private Redis): it flushes what the others did, the stop included.
    closers.push(() => telemetry.shutdown());
    const imageConfig = config.images;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const redisUrl = config.redisUrl ?? (await startPrivateRedis(config.dataDir, closers, log));
    const redis = await connectRedis(redisUrl);
    closers.push(() => closeRedis(redis));
    if (config.redisUrl !== undefined) await checkExternalRedis(redis, redact(redisUrl), { allowEviction: config.redisAllowEviction }, log);
    const dbHandle = await openDatabase(databaseLocation(config));
    closers.push(() => dbHandle.close());
    const webhooks = new WebhookQueue(redis, config.webhooks.attempts);
    closers.push(() => webhooks.close());
    // With role `all`, the worker wakes the API's waiting requests directly, a Redis round trip sooner.
    const blobs = new BlobStore(join(config.dataDir, 'blobs'));
    const ctx: StartContext = { config, blobs, redisUrl, redis, dbHandle, log, closers, stop, imageConfig, webhooks, local: {}, telemetry, processId, imageLabels: new ImageLabels() };
    const workerId = config.role === 'api' ? undefined : await startWorker(ctx);
    const http = config.role === 'worker' ? undefined : await startApi(ctx);
    startReconciler(ctx);
    const url = http && `http://${formatHost(http.address() as AddressInfo)}`;
    log.info({ role: config.role, url, workerId, auth: http === undefined ? undefined : config.auth ? 'on' : 'off', dataDir: config.dataDir, redis: redact(redisUrl) }, `warmbox ${config.role === 'worker' ? 'worker' : 'server'} ready`);
    return { url, workerId, close, abortNow: () => stop.abortNow() };
  } catch (err) {
    await close(0);
    throw err;
  }
}

/**
 * A worker: the snapshot store, the sandbox runtime, warm pools kept in step with the other
 * workers, and the BullMQ consumer of the shared jobs queue. Returns its id.
 */
async function startWorker(ctx: StartContext): Promise<string> {
  const { config, redisUrl, redis, dbHandle, closers, stop, imageConfig, webhooks, local, telemetry, imageLabels } = ctx;
  const workerId = ctx.processId;
  // Every line of the worker's parts carries its id; those about a job add `job`.
  const log = ctx.log.child({ worker: workerId });
  const store = await openStore(config, dbHandle, log);
  const runtime = await openRuntime(config, log, closers);
  const shutdown = { started: false };
  const poolMetrics = new PoolMetrics(telemetry.meter, imageLabels);
  const pools = await startPools(config, runtime, store, log, shutdown, poolMetrics);
  poolMetrics.observe(() => pools.stats());
  closers.push(() => pools.close());
  // Creations still in flight when the pools close fail ("the launcher zygote is closing"): expected, not worth a warning each.
  closers.push(() => (shutdown.started = true));
  const images = new ImageResolver(store);
  const blobs = openBlobAccess(ctx, log);
  // The runner comes later (it needs the image worker): the coordinator asks it through this.
  const running = { jobs: () => 0 };
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
    runningJobs: () => running.jobs(),
    versions: { ...processVersions(), cgroup: runtime.cgroups.version },
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
    pullMetrics: new PullMetrics(telemetry.meter, imageLabels),
    blobs,
    log,
    onStoreChanged: () => void usage.publish(),
  });
  closers.push(() => imageWorker.close());
  const removals = await ImageRemovalListener.start(redis, (removed) => imageWorker.untagRemovedElsewhere(removed), log);
  closers.push(() => removals.close());
  const workerStop = new WorkerStop();
  // Jobs' output on a connection of its own: an API in this process must not wait behind a flood of it to enqueue.
  // It and the jobs queue's consumer send a few commands at a time: auto-pipelining costs them more than it saves.
  const outputRedis = await connectRedis(redisUrl, WORKER_REDIS_USE);
  closers.push(() => closeRedis(outputRedis));
  const runner = new JobRunner({
    images,
    pools,
    db: dbHandle.db,
    redis: outputRedis,
    log,
    pull: (reference) => imageWorker.obtainLocal(reference),
    metrics: new JobMetrics(telemetry.meter, imageLabels),
    onFinished: (id, notice) => local.notifier?.announceLocal(id, notice),
    stop: workerStop,
    webhooks,
    blobs,
    buildLayers: new BuildLayerStore(store, dbHandle.db, images, blobs),
  });
  running.jobs = () => runner.running;
  const cancels: { listener?: CancelListener } = {};
  local.runner = runner;
  const slots = new RunningSlots(redis, (err) => log.warn({ err }, 'renewing running slots failed; they hold until their lease ends'));
  closers.push(() => slots.close());
  const worker = startJobWorker({
    connection: redisOptions(redisUrl, WORKER_REDIS_USE) as ConnectionOptions,
    name: workerId,
    concurrency: config.concurrency,
    runner,
    cancelledBeforeStart: (id) => cancels.listener?.takePending(id) ?? false,
    runningCap: { slots, capOf: async (tenantId) => (await tenantOf(dbHandle.db, tenantId, config.tenants.localTenantPolicy))?.policy.maxRunningJobs ?? null },
  });
  worker.on('error', (err) => log.error({ err }, 'job worker error'));
  worker.on('active', (job) => coordinator.noteJobTaken(job.data.image));
  // Closed before the coordinator (closers run in reverse): this worker stays in the pool registry,
  // its heartbeat, until its jobs have ended, or a reconcile sweep could judge it dead (job-reconciler.ts).
  closers.push(() => worker.close());
  cancels.listener = await CancelListener.start(redis, worker, log);
  closers.push(() => cancels.listener?.close());
  stop.addWorker({
    // No job is taken any more; the runner sends jobs not yet in a sandbox back to the queue.
    refuse: (graceMs) => {
      workerStop.beginDrain(graceMs);
      void worker.close();
    },
    drained: () => worker.close(),
    // Running jobs' sandboxes are killed; the runner records them `lost`, then the worker closes.
    graceOver: () => workerStop.endGrace(),
    abortNow: async () => {
      const recording = runner.recordRunningAsLost();
      const left = runtime.killAllNow();
      const lost = await recording;
      log.warn({ lost, cgroupsLeft: left }, 'stopped at once: every sandbox killed, its job recorded lost');
    },
  });
  const webhookMetrics = new WebhookMetrics(telemetry.meter);
  const deliveries = await startWebhookDelivery({
    config: config.webhooks,
    dataDir: config.dataDir,
    connection: redisOptions(redisUrl) as ConnectionOptions,
    db: dbHandle.db,
    webhooks,
    log,
    onAttemptEnd: (end) => webhookMetrics.recordAttempt(end),
  });
  closers.push(...deliveries);
  local.workerChecks = workerReadinessChecks(runtime);
  return workerId;
}

/**
 * The blobs this worker reads and hands on (worker/blob-access.ts): this host's store, and the
 * API's over HTTP when the worker has a host of its own (WARMBOX_API_URL). Such a worker
 * collects what it fetched as the API collects its store.
 */
function openBlobAccess(ctx: StartContext, log: Logger): BlobAccess {
  const { config, closers, dbHandle } = ctx;
  const { apiUrl, workerToken } = config.hosts;
  const api = apiUrl !== undefined && workerToken !== undefined ? new ApiBlobClient(apiUrl, workerToken) : undefined;
  if (api !== undefined && config.role === 'worker') {
    const collector = WorkerBlobCollector.start({
      store: ctx.blobs,
      pinned: () => pinnedBlobDigests(dbHandle.db),
      gcAgeMs: config.blobs.gcAgeMs,
      onError: (err) => log.error({ err }, 'collecting the blobs fetched from the API failed; trying again at the next interval'),
    });
    closers.push(() => collector.close());
    log.info({ api: apiUrl }, 'blobs this host lacks are fetched from the API');
    if (config.webhooks.secret === undefined) {
      log.warn('this worker signs webhooks with a key generated in its own data directory: set WARMBOX_WEBHOOK_SECRET, the same on every host, so that receivers verify every delivery');
    }
  }
  return new BlobAccess({ store: ctx.blobs, maxBytes: Math.max(config.images.importMaxBytes, config.blobs.maxBytes), ...(api && { api }) });
}

/** What GET /readyz checks of a worker: its launcher zygote answers, and a sandbox cgroup can be made. */
function workerReadinessChecks(runtime: SandboxRuntime): ReadinessCheck[] {
  return [
    { name: 'launcher', run: () => runtime.probeLauncher(READINESS_CHECK_TIMEOUT_MS) },
    { name: 'cgroups', run: () => runtime.probeCgroups() },
  ];
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
    webhooks: ctx.webhooks,
  });
  closers.push(() => reconciler.close());
  const localRetention = { id: LOCAL_TENANT_ID, retentionSeconds: config.tenants.localTenantPolicy.retentionSeconds };
  const retention = RetentionSweep.start({
    db: dbHandle.db,
    redis,
    log,
    tenants: async () => [localRetention, ...(await listTenantRetention(dbHandle.db))],
    defaultSeconds: config.tenants.retentionDefaultSeconds,
    idempotencyKeyTtlMs: IDEMPOTENCY_KEY_TTL_MS,
  });
  closers.push(() => retention.close());
}

/**
 * The sandbox runtime, with a run directory of this process's own (its launcher socket and the
 * sandboxes' mount point): several workers may share one data directory.
 */
async function openRuntime(config: ServerConfig, log: Logger, closers: Closer[]): Promise<SandboxRuntime> {
  const runDir = join(config.dataDir, 'run', String(process.pid));
  closers.push(() => removeRunDir(runDir));
  const runtime = await SandboxRuntime.open(
    {
      runDir,
      launcherPath: config.launcherPath ?? launcherPath(),
      uid: config.sandboxUid,
      uidCount: config.sandboxUidCount,
      gid: config.sandboxGid,
      network: config.network,
    },
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
async function startPools(config: ServerConfig, runtime: SandboxRuntime, store: SnapshotStore, log: Logger, shutdown: { started: boolean }, metrics: PoolMetrics): Promise<SandboxPools> {
  const pools = new SandboxPools(
    runtime,
    {
      defaultBounds: { min: config.pools.min, max: config.pools.max },
      maxParkedTotal: config.pools.maxTotal,
      defaultDiskBytes: DEFAULT_LIMITS.diskBytes,
      onCreated: metrics.recordCreation,
    },
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

/**
 * Opens the snapshot store, makes sure the built-in images exist, and lists every image in the db.
 * A worker on a host of its own (WARMBOX_API_URL) lists only the built-in ones: the db is the record
 * of which images exist, and an image it lacks was removed while this worker was away (untagged here).
 */
async function openStore(config: ServerConfig, dbHandle: DatabaseHandle, log: Logger): Promise<SnapshotStore> {
  const store = await openSnapshotStore(config.dataDir, config.images);
  const broken = (image: string, err: unknown) => log.error({ image, err }, 'image in the store is damaged and not offered: pull or import it again');
  const ownHost = config.hosts.apiUrl !== undefined;
  for (const image of await store.list(broken)) {
    if (ownHost && !BUILTIN_IMAGES.includes(image.reference) && (await findImage(dbHandle.db, image.reference)) === undefined) {
      await store.remove(image.reference);
      log.info({ image: image.reference }, 'untagged an image removed while this worker was away');
      continue;
    }
    await recordImage(dbHandle.db, store, image);
  }
  return store;
}

const BUILTIN_IMAGES = [BUSYBOX_IMAGE, HELLO_WORLD_IMAGE];

/** The worker's per-job connections (the jobs queue's consumer, the output stream): no auto-pipelining (server/redis-connection.ts). */
const WORKER_REDIS_USE: RedisUse = { autoPipelining: false };

async function startApi(ctx: StartContext): Promise<ServerType> {
  const { config, redis, dbHandle, log, closers, stop, imageConfig, webhooks, local, telemetry } = ctx;
  const queue = new JobQueue(redis);
  closers.push(() => queue.close());
  closers.push(observeJobQueue(telemetry.meter, () => queue.depth()));
  const notifier = await FinishedNotifier.start(redis, log);
  closers.push(() => notifier.close());
  local.notifier = notifier;
  const images = await ImageQueue.start({
    redis,
    pullTimeoutMs: imageConfig.pullTimeoutMs,
    importMaxBytes: imageConfig.importMaxBytes,
    log,
  });
  closers.push(() => images.close());
  const collector = BlobCollector.start({ db: dbHandle.db, store: ctx.blobs, gcAgeMs: config.blobs.gcAgeMs, log });
  closers.push(() => collector.close());
  const peers = await startApiPeers(ctx);
  const deps: AppDeps = {
    db: dbHandle.db,
    queue,
    notifier,
    redis,
    images,
    blobs: { store: ctx.blobs, maxBytes: config.blobs.maxBytes, ...(peers && { peers }) },
    internalBlobs: {
      store: ctx.blobs,
      maxBytes: Math.max(imageConfig.importMaxBytes, config.blobs.maxBytes),
      ...(config.hosts.workerToken !== undefined && { workerToken: config.hosts.workerToken }),
      ...(peers && { peers }),
    },
    webhooks,
    config: {
      auth: config.auth,
      maxWaitMs: config.maxWaitMs,
      defaultWaitMs: Math.min(60_000, config.maxWaitMs),
      maxBatchJobs: config.maxBatchJobs,
      webhookTargets: config.webhooks.policy,
      localTenantPolicy: config.tenants.localTenantPolicy,
      languages: config.languages,
    },
    logger: log,
    stopping: () => stop.started,
    metrics: telemetry.metricsText,
    tracing: telemetry.tracing,
    workerChecks: local.workerChecks,
    overload: new OverloadGate(config.overload, (now) => queue.depth(now), log),
  };
  const app = createApp(deps);
  // Judge runs whose process died are taken over here; at stop, this process's runs are let go.
  const keeper = JudgeRunKeeper.start(deps);
  closers.push(() => keeper.close());
  const http = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.listen.host, port: config.listen.port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`cannot listen on ${config.listen.host}:${config.listen.port}: address in use (set WARMBOX_LISTEN)`) : err),
    );
  });
  // A `?wait=true` request may legitimately be held for maxWaitMs: Node's own timeout must not cut it.
  (http as HttpServer).requestTimeout = config.maxWaitMs + 30_000;
  (http as HttpServer).keepAliveTimeout = config.httpKeepAliveMs;
  closers.push(() => closeHttp(http as HttpServer));
  return http;
}

/**
 * The other API processes behind the same address, asked for blobs uploaded to them
 * (api/peer-blobs.ts): with a worker token only (their internal route takes it). This one is
 * listed for them when it has an address of its own (WARMBOX_ADVERTISE_URL).
 */
async function startApiPeers(ctx: StartContext): Promise<PeerBlobs | undefined> {
  const { config, redis, closers, log } = ctx;
  const token = config.hosts.workerToken;
  if (token === undefined) return undefined;
  const peers = await ApiPeers.start(redis, config.hosts.advertiseUrl, log);
  closers.push(() => peers.close());
  return new PeerBlobs({ store: ctx.blobs, peers: () => peers.others(), token, maxBytes: Math.max(config.images.importMaxBytes, config.blobs.maxBytes), log });
}

/** How long answers being written when the jobs have drained get to finish before connections are cut. */
const HTTP_FLUSH_MS = 1000;

/**
 * No new connection; idle keep-alives closed; requests still being answered (a `?wait=true` whose
 * job just finished) get HTTP_FLUSH_MS; then every connection is closed, SSE streams included.
 */
async function closeHttp(http: HttpServer): Promise<void> {
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, HTTP_FLUSH_MS)))]);
  clearTimeout(timer);
  http.closeAllConnections();
  await closed;
}

function formatHost(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
