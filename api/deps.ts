/** What the HTTP layer is built from; the server process owns (opens and closes) all of it. */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import type { FinishedNotifier } from '../queue/finished-notifier.js';
import type { ImageQueue } from '../queue/image-queue.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';
import type { TenantPolicy } from '../contract/tenant.js';
import type { WebhookTargetPolicy } from '../contract/webhook-target-policy.js';
import type { OverloadGate } from './overload-gate.js';
import type { LanguagePreset } from '../contract/languages.js';
import type { ReadinessCheck } from './readiness.js';
import type { BlobRoutesConfig } from './routes/blobs.js';
import type { InternalBlobsConfig } from './routes/internal-blobs.js';

export interface ApiConfig {
  /** Longest `?wait=true` hold a client may ask for (`timeout` above it → 422), in milliseconds. */
  maxWaitMs: number;
  /** The hold when `?wait=true` comes without `timeout`, in milliseconds. */
  defaultWaitMs: number;
  /** Largest request body (413 above). Default REQUEST_BOUNDS.bodyBytes. */
  maxBodyBytes?: number;
  /** Most jobs one POST /v1/jobs/batch may hold (422 above). Default REQUEST_BOUNDS.batchJobs, at most REQUEST_BOUNDS.batchJobsMaximum. */
  maxBatchJobs?: number;
  /** How long an SSE stream may stay silent before a keep-alive comment, in milliseconds. Default 15000. */
  sseKeepAliveMs?: number;
  /** Which webhook targets a job may name (WARMBOX_WEBHOOK_ALLOW). Default: no special-purpose address. */
  webhookTargets?: WebhookTargetPolicy;
  /** Language presets added to (or replacing) the built-in ones (WARMBOX_LANGUAGES_FILE). */
  languages?: LanguagePreset[];
  /** The policy of the local tenant, which every request acts for while auth is off. Default: unrestricted. */
  localTenantPolicy?: TenantPolicy;
  /**
   * Whether requests need an API key (WARMBOX_AUTH; middleware/auth.ts). Default off: every
   * request acts for the local tenant with every scope.
   */
  auth?: boolean;
}

export interface AppDeps {
  db: WarmboxDb;
  queue: JobQueue;
  notifier: FinishedNotifier;
  /** A connection the API may use for short commands; SSE streams duplicate it for their blocking reads. */
  redis: Redis;
  /** Whether a normalized reference can run. Default: it is in the db's `images` table. */
  imageExists?: (reference: string) => boolean | Promise<boolean>;
  /** The blob store (the /v1/blobs routes, and where image imports are kept); absent: no such routes. */
  blobs?: BlobRoutesConfig;
  /** The internal routes workers on other hosts fetch blobs from (api/routes/internal-blobs.ts); absent: none. */
  internalBlobs?: InternalBlobsConfig;
  /** Image operations (the /v1/images routes, and pulls on first use by POST /v1/jobs); absent: neither. */
  images?: ImageQueue;
  /** Where a job the API finishes (a cancel), or a judge run, has its webhook delivery queued; absent: the workers' sweep queues it. */
  webhooks?: WebhookQueue;
  config: ApiConfig;
  logger: Logger;
  /** True once the server has begun to stop: new work is refused with 503 (middleware/refuse-while-stopping.ts). */
  stopping?: () => boolean;
  /** The process's metrics for GET /metrics (server/telemetry.ts); absent: no such route. */
  metrics?: MetricsText;
  /** Whether requests are traced (OpenTelemetry tracing is on): a span per request. */
  tracing?: boolean;
  /** Refuses new jobs with 503 `overloaded` while the queue is past its thresholds (api/overload-gate.ts); absent: never. */
  overload?: OverloadGate;
  /** What a worker in this process checks for GET /readyz (its launcher, its cgroup driver); absent: no worker here. */
  workerChecks?: ReadinessCheck[];
}

/** Metrics rendered in a text format at each request. */
export interface MetricsText {
  contentType: string;
  render(): Promise<string>;
}
