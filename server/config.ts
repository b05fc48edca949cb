/**
 * Server configuration: environment variables (overridable by `warmbox server` flags), checked
 * once at start with messages that name the variable and what it takes.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LanguagePreset } from '../contract/languages.js';
import { languagesFromEnv } from './languages-config.js';
import { z } from 'zod';
import { imageOpsConfigFromEnv, type ImageOpsConfig } from './image-config.js';
import { POOL_BOUNDS_MAX } from '../contract/pools.js';
import { BLOB_BOUNDS_DEFAULT, BLOB_BOUNDS_MAXIMUM, type BlobBounds } from '../contract/limits.js';
import { webhookConfigFromEnv, type WebhookConfig } from './webhook-config.js';
import { networkConfigFromEnv } from './network-config.js';
import type { NetworkSettings } from '../runtime/network-settings.js';
import { REQUEST_BOUNDS } from '../api/request-bounds.js';
import { LOG_FORMATS, type LogFormat } from './logger.js';
import { tenantConfigFromEnv, type TenantConfig } from './tenant-config.js';
import { hostsConfigFromEnv, type HostsConfig } from './hosts-config.js';

/**
 * What one process runs. `all`: the API and a worker (the default, one process is a whole
 * service). `api`: only the HTTP API (stateless; any number, behind a load balancer). `worker`:
 * only a worker (no HTTP port); several, on one or more hosts, take jobs from the same Redis.
 */
export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
  })
  .refine((a) => a.port <= 65535, 'port must be at most 65535');

const databaseUrl = z.string().regex(/^postgres(ql)?:\/\//i, 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE');

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * How long a stop (SIGTERM, SIGINT) lets running jobs finish before it kills their sandboxes and
 * records them `lost`: by default 3x a job's default wall time (10 s), at most 2x the largest
 * wall time a job may ask for (300 s). infra/systemd/warmbox.service's TimeoutStopSec exceeds
 * the default (test/infra/systemd-unit.test.ts).
 */
export const STOP_GRACE_MS = { default: 30_000, max: 600_000 } as const;

/**
 * How long the API keeps an idle keep-alive connection open. Node's own 5 s is shorter than what
 * proxies in front of it keep theirs (nginx upstream keepalive 60 s, AWS ALB 60 s): a proxy then
 * reuses a connection the server has just closed, and its client gets a 502 or ECONNRESET for a
 * request that never arrived. Longer than those on both sides, by default.
 */
export const HTTP_KEEPALIVE_MS = { default: 65_000, max: 600_000 } as const;
/**
 * When new jobs are refused with 503 `overloaded` (api/overload-gate.ts). `ageMs`: the longest a
 * new job should wait for a worker; one whose predicted wait is longer is refused. The prediction
 * is (jobs waiting ahead of it) / (jobs per second the workers take while jobs wait), from the
 * queue's depth sampled every 100 ms (or half of `ageMs`); an idle queue admits every job. So
 * accepted jobs wait about `ageMs` at most, and the service takes about as many jobs as its workers
 * drain. `queued`: a hard cap on the jobs waiting for a worker. 0 turns a threshold off. The
 * default age is the default `?wait` a client holds (60 s): a job predicted to wait longer is not
 * drained within a job's wait (its client gives up before it even starts), while a judge run's
 * batch may queue for seconds. A service that wants accepted jobs fast sets it lower (a healthy
 * queue waits milliseconds; e.g. 50-250 ms).
 */
export const OVERLOAD_QUEUED = { default: 10_000, max: 10_000_000 } as const;
export const OVERLOAD_AGE_MS = { default: 60_000, max: 3_600_000 } as const;

const schema = z.object({
  WARMBOX_ROLE: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
  WARMBOX_DATA: z.string().min(1),
  WARMBOX_LISTEN: listenAddress,
  WARMBOX_REDIS_URL: z
    .string()
    .regex(/^rediss?(-sentinel)?:\/\/|^unix:\/\//, 'expected redis://HOST:PORT, rediss://…, redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER-NAME or unix:///path/to/socket')
    .optional(),
  WARMBOX_DATABASE_URL: databaseUrl.optional(),
  WARMBOX_CONCURRENCY: intIn(1, 1024),
  WARMBOX_SANDBOX_UID: intIn(1, 2 ** 31 - 1),
  WARMBOX_SANDBOX_UID_COUNT: intIn(1, 1 << 20),
  WARMBOX_SANDBOX_GID: intIn(1, 2 ** 31 - 1),
  WARMBOX_MAX_WAIT_MS: intIn(1, 3_600_000),
  WARMBOX_HTTP_KEEPALIVE_MS: intIn(1000, HTTP_KEEPALIVE_MS.max),
  WARMBOX_STOP_GRACE_MS: intIn(0, STOP_GRACE_MS.max),
  WARMBOX_BATCH_MAX_JOBS: intIn(1, REQUEST_BOUNDS.batchJobsMaximum),
  WARMBOX_LAUNCHER: z.string().min(1).optional(),
  WARMBOX_POOL_MIN: intIn(0, 1024),
  WARMBOX_POOL_MAX: intIn(0, POOL_BOUNDS_MAX),
  WARMBOX_POOL_MAX_TOTAL: intIn(0, 65536),
  WARMBOX_PREWARM: z
    .string()
    .regex(/^$|^[^=,\s]+=\d+(,[^=,\s]+=\d+)*$/, 'expected IMAGE=N[,IMAGE=N...], e.g. busybox=4,python:3.12=2')
    .transform((s) => (s ? s.split(',').map((pair) => ({ image: pair.slice(0, pair.lastIndexOf('=')), min: Number(pair.slice(pair.lastIndexOf('=') + 1)) })) : [])),
  WARMBOX_METRICS_LISTEN: listenAddress.optional(),
  WARMBOX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  WARMBOX_LOG_FORMAT: z.enum(LOG_FORMATS, { error: `expected one of ${LOG_FORMATS.join(', ')}` }).optional(),
  WARMBOX_RECONCILE_INTERVAL_MS: intIn(1000, 3_600_000),
  // Above the API's enqueue bound (2 s) with room to spare: a younger queued job may not be in Redis yet.
  WARMBOX_RECONCILE_GRACE_MS: intIn(5000, 3_600_000),
  WARMBOX_REDIS_ALLOW_EVICTION: z.enum(['0', '1'], { error: 'expected 1 (allow) or 0' }),
  WARMBOX_OVERLOAD_QUEUED: intIn(0, OVERLOAD_QUEUED.max),
  WARMBOX_OVERLOAD_AGE_MS: intIn(0, OVERLOAD_AGE_MS.max),
  WARMBOX_AUTH: z.enum(['on', 'off'], { error: 'expected on or off' }).optional(),
  WARMBOX_BLOB_MAX_BYTES: intIn(1, BLOB_BOUNDS_MAXIMUM.maxBytes),
  WARMBOX_BLOB_GC_AGE_MS: intIn(0, BLOB_BOUNDS_MAXIMUM.gcAgeMs),
});

export interface ServerConfig {
  /** Registries, pull and import bounds, garbage collection (server/image-config.ts). */
  images: ImageOpsConfig;
  /** Webhook deliveries: secret, allowed targets, retries, timeouts (server/webhook-config.ts). */
  webhooks: WebhookConfig;
  /** The local tenant's policy and the retention default (server/tenant-config.ts). */
  tenants: TenantConfig;
  /** Network `bridge`: subnet pool, allowed ranges, resolvers, uplinks (server/network-config.ts). */
  network: NetworkSettings;
  /** Judge language presets added to the built-in ones (server/languages-config.ts). */
  languages: LanguagePreset[];
  /** How workers on other hosts reach the API: WARMBOX_API_URL, WARMBOX_WORKER_TOKEN (server/hosts-config.ts). */
  hosts: HostsConfig;
  role: Role;
  dataDir: string;
  listen: { host: string; port: number };
  /** Absent: `warmbox server` starts a private redis-server of its own under dataDir. */
  redisUrl?: string;
  /** A Postgres server's URL; absent: the SQLite file warmbox.db under dataDir (databaseLocation). */
  databaseUrl?: string;
  concurrency: number;
  sandboxUid: number;
  /** uids from sandboxUid: 1 = every sandbox shares it; more = a distinct uid per live sandbox. */
  sandboxUidCount: number;
  sandboxGid: number;
  maxWaitMs: number;
  /** How long an idle client connection is kept open (HTTP_KEEPALIVE_MS). */
  httpKeepAliveMs: number;
  /** A stop's grace period for running jobs (STOP_GRACE_MS), in milliseconds. */
  stopGraceMs: number;
  /** Most jobs in one POST /v1/jobs/batch. */
  maxBatchJobs: number;
  logLevel: string;
  /** Where GET /metrics is served besides the API's port: how a worker-only process (no API) is scraped. */
  metricsListen?: { host: string; port: number };
  /** Absent: pretty on a terminal, JSON otherwise. */
  logFormat?: LogFormat;
  pools: { min: number; max: number; maxTotal: number; prewarm: { image: string; min: number }[] };
  /** The native launcher; default: the one `npm run setup` builds in runtime/native/build/. */
  launcherPath?: string;
  /** The db/queue reconcile sweep (worker/job-reconciler.ts): how often, and how old a queued job must be to be re-queued. */
  reconcile: { intervalMs: number; graceMs: number };
  /** Start even though an external Redis may evict keys (maxmemory-policy other than noeviction). */
  redisAllowEviction: boolean;
  /** New jobs are refused (503 overloaded) past the queued cap or a predicted wait longer than maxAgeMs (OVERLOAD_QUEUED, OVERLOAD_AGE_MS); 0 = that threshold off. */
  overload: { maxQueued: number; maxAgeMs: number };
  /**
   * Whether requests need an API key (README "Tenants and keys"). WARMBOX_AUTH=on|off; unset: off
   * when the API listens on loopback only, on otherwise. Off beyond loopback is refused.
   */
  auth: boolean;
  /** The blob store's bounds: largest upload, and how long unreferenced bytes stay. */
  blobs: BlobBounds;
}

export const CONFIG_DEFAULTS = {
  WARMBOX_ROLE: 'all',
  WARMBOX_DATA: process.getuid?.() === 0 ? '/var/lib/warmbox' : join(homedir(), '.local/share/warmbox'),
  WARMBOX_LISTEN: '127.0.0.1:8080',
  WARMBOX_CONCURRENCY: '8',
  WARMBOX_SANDBOX_UID: '65534',
  WARMBOX_SANDBOX_UID_COUNT: '1',
  WARMBOX_SANDBOX_GID: '65534',
  WARMBOX_MAX_WAIT_MS: '300000',
  WARMBOX_HTTP_KEEPALIVE_MS: String(HTTP_KEEPALIVE_MS.default),
  WARMBOX_STOP_GRACE_MS: String(STOP_GRACE_MS.default),
  WARMBOX_BATCH_MAX_JOBS: String(REQUEST_BOUNDS.batchJobs),
  WARMBOX_LOG_LEVEL: 'info',
  WARMBOX_POOL_MIN: '0',
  WARMBOX_POOL_MAX: '16',
  WARMBOX_POOL_MAX_TOTAL: '512',
  WARMBOX_PREWARM: 'busybox=1',
  WARMBOX_RECONCILE_INTERVAL_MS: '15000',
  WARMBOX_RECONCILE_GRACE_MS: '30000',
  WARMBOX_REDIS_ALLOW_EVICTION: '0',
  WARMBOX_OVERLOAD_QUEUED: String(OVERLOAD_QUEUED.default),
  WARMBOX_OVERLOAD_AGE_MS: String(OVERLOAD_AGE_MS.default),
  WARMBOX_BLOB_MAX_BYTES: String(BLOB_BOUNDS_DEFAULT.maxBytes),
  WARMBOX_BLOB_GC_AGE_MS: String(BLOB_BOUNDS_DEFAULT.gcAgeMs),
} as const;

/** Where the db is: the Postgres server WARMBOX_DATABASE_URL names, or the SQLite file in the data directory (db/client.ts). */
export function databaseLocation(config: Pick<ServerConfig, 'dataDir' | 'databaseUrl'>): string {
  return config.databaseUrl ?? join(config.dataDir, 'warmbox.db');
}

/** databaseLocation for `warmbox keys`/`tenants` on the host (server/host-admin.ts): WARMBOX_DATABASE_URL read alone. */
export function hostDatabaseLocation(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = env.WARMBOX_DATABASE_URL || undefined;
  const parsed = databaseUrl.optional().safeParse(url);
  if (!parsed.success) throw new ConfigError(`invalid configuration: WARMBOX_DATABASE_URL: ${parsed.error.issues[0]!.message}`);
  return databaseLocation({ dataDir, databaseUrl: parsed.data });
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const values = { ...CONFIG_DEFAULTS, ...definedOnly(env) };
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}=${JSON.stringify(values[i.path[0] as keyof typeof values])}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.WARMBOX_ROLE !== 'all' && c.WARMBOX_REDIS_URL === undefined) {
    throw new ConfigError(
      `invalid configuration: WARMBOX_ROLE=${c.WARMBOX_ROLE} needs WARMBOX_REDIS_URL: the API processes and the workers must share one Redis ` +
        '(a private redis-server is only started by WARMBOX_ROLE=all)',
    );
  }
  const auth = authSetting(c.WARMBOX_AUTH, c.WARMBOX_LISTEN.host, c.WARMBOX_ROLE);
  return {
    auth,
    images: imageConfig(env),
    webhooks: webhookConfig(env),
    tenants: tenantConfig(env),
    network: networkConfig(env),
    languages: languagesConfig(env),
    hosts: hostsConfig(env, c.WARMBOX_ROLE),
    role: c.WARMBOX_ROLE,
    dataDir: c.WARMBOX_DATA,
    listen: c.WARMBOX_LISTEN,
    redisUrl: c.WARMBOX_REDIS_URL,
    databaseUrl: c.WARMBOX_DATABASE_URL,
    concurrency: c.WARMBOX_CONCURRENCY,
    sandboxUid: c.WARMBOX_SANDBOX_UID,
    sandboxUidCount: c.WARMBOX_SANDBOX_UID_COUNT,
    sandboxGid: c.WARMBOX_SANDBOX_GID,
    maxWaitMs: c.WARMBOX_MAX_WAIT_MS,
    httpKeepAliveMs: c.WARMBOX_HTTP_KEEPALIVE_MS,
    stopGraceMs: c.WARMBOX_STOP_GRACE_MS,
    maxBatchJobs: c.WARMBOX_BATCH_MAX_JOBS,
    logLevel: c.WARMBOX_LOG_LEVEL,
    metricsListen: c.WARMBOX_METRICS_LISTEN,
    logFormat: c.WARMBOX_LOG_FORMAT,
    launcherPath: c.WARMBOX_LAUNCHER,
    pools: { min: c.WARMBOX_POOL_MIN, max: c.WARMBOX_POOL_MAX, maxTotal: c.WARMBOX_POOL_MAX_TOTAL, prewarm: c.WARMBOX_PREWARM },
    reconcile: { intervalMs: c.WARMBOX_RECONCILE_INTERVAL_MS, graceMs: c.WARMBOX_RECONCILE_GRACE_MS },
    redisAllowEviction: c.WARMBOX_REDIS_ALLOW_EVICTION === '1',
    overload: { maxQueued: c.WARMBOX_OVERLOAD_QUEUED, maxAgeMs: c.WARMBOX_OVERLOAD_AGE_MS },
    blobs: { maxBytes: c.WARMBOX_BLOB_MAX_BYTES, gcAgeMs: c.WARMBOX_BLOB_GC_AGE_MS },
  };
}

/** Whether a listen host is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Auth is on unless the API listens on loopback only; an API beyond loopback without auth is
 * refused: anyone who reaches the port could run anything. (A worker-only process opens no port.)
 */
function authSetting(setting: 'on' | 'off' | undefined, host: string, role: Role): boolean {
  const loopback = isLoopbackHost(host);
  if (setting === 'off' && !loopback && role !== 'worker') {
    throw new ConfigError(
      `invalid configuration: WARMBOX_AUTH=off with WARMBOX_LISTEN on ${host}, beyond loopback: anyone who reaches the port could run jobs. ` +
        'Turn auth on (unset WARMBOX_AUTH, or WARMBOX_AUTH=on) and make an admin key with `warmbox keys create --tenant local --scope admin`, ' +
        'or listen on 127.0.0.1 only',
    );
  }
  return setting === undefined ? !loopback : setting === 'on';
}

/** Variables where an empty value means "none" rather than "the default". */
const EMPTY_MEANS_NONE = new Set(['WARMBOX_PREWARM']);

function languagesConfig(env: NodeJS.ProcessEnv): LanguagePreset[] {
  try {
    return languagesFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function hostsConfig(env: NodeJS.ProcessEnv, role: Role): HostsConfig {
  try {
    return hostsConfigFromEnv(env, role);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function imageConfig(env: NodeJS.ProcessEnv): ImageOpsConfig {
  try {
    return imageOpsConfigFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function tenantConfig(env: NodeJS.ProcessEnv): TenantConfig {
  try {
    return tenantConfigFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function webhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  try {
    return webhookConfigFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function networkConfig(env: NodeJS.ProcessEnv): NetworkSettings {
  try {
    return networkConfigFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('WARMBOX_') && e[1] !== undefined && (e[1] !== '' || EMPTY_MEANS_NONE.has(e[0]))),
  );
}
