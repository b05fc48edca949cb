/**
 * The db's tables (drizzle, SQLite). Timestamps are epoch milliseconds; JSON columns hold the
 * shapes the API and worker already define. Generate a migration after any change here:
 * `npm run db:generate` (drizzle-kit writes db/migrations/, which is checked in).
 */
import { blob, index, integer, primaryKey, sqliteTable, text, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import type { Scope } from '../contract/api-key.js';
import { LOCAL_TENANT_ID, type TenantPolicy } from '../contract/tenant.js';
import type { JobTemplate, TriggerVerification } from '../contract/trigger.js';
import type { Verdict } from '../contract/verdict.js';
import type { JudgeRunInput, JudgeRunView } from '../contract/judge.js';

export const JOB_STATUSES = ['queued', 'running', 'finished'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    /** Whose job it is (tenants.id); jobs recorded before tenants existed are the local tenant's. */
    tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
    status: text('status', { enum: JOB_STATUSES }).notNull(),
    /** Normalized reference, e.g. `docker.io/library/busybox:latest`. */
    image: text('image').notNull(),
    /** Content digest the reference resolved to when the job ran; null until then. */
    digest: text('digest'),
    /** The request as it was enqueued, every default filled. */
    request: text('request', { mode: 'json' }).$type<JobPayload>().notNull(),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** Where the result is POSTed; its delivery and attempts are in webhook_deliveries and webhook_attempts. */
    webhookUrl: text('webhook_url'),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    /**
     * The result without its stdout and stderr, which are the two columns below as bytes: a JSON
     * string of megabytes costs seconds of the event loop to write and parse (README "When
     * things fail", output floods). Rows written before those columns keep their output here.
     */
    result: text('result', { mode: 'json' }).$type<JobResult>(),
    stdout: blob('stdout', { mode: 'buffer' }),
    stderr: blob('stderr', { mode: 'buffer' }),
    /** Copied out of `result` so that jobs can be filtered and counted by outcome. */
    verdict: text('verdict').$type<Verdict>(),
    exitCode: integer('exit_code'),
  },
  // GET /v1/jobs lists newest first and pages on (created_at, id): each filter it takes has an
  // index that ends in those two columns, so a page is an index range scan with no sort.
  (t) => [
    index('jobs_created_at_id_idx').on(t.createdAt, t.id),
    index('jobs_status_created_at_id_idx').on(t.status, t.createdAt, t.id),
    index('jobs_image_created_at_id_idx').on(t.image, t.createdAt, t.id),
    index('jobs_verdict_created_at_id_idx').on(t.verdict, t.createdAt, t.id),
    index('jobs_tenant_created_at_id_idx').on(t.tenantId, t.createdAt, t.id),
    // Counting a tenant's queued and running jobs (its caps) without a scan.
    index('jobs_tenant_status_idx').on(t.tenantId, t.status),
  ],
);

/**
 * `Idempotency-Key`s of job submissions (POST /v1/jobs and /v1/jobs/batch), kept a day. The key is
 * the primary key: of two concurrent submissions with one key, one insert wins and the other
 * replays its jobs. Written in the transaction that records the jobs, so a key never names jobs
 * that were not recorded.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    /** sha256 of the route and the request body: the same key with another body is refused. */
    requestHash: text('request_hash').notNull(),
    /** The jobs the submission recorded, in order. */
    jobIds: text('job_ids', { mode: 'json' }).$type<string[]>().notNull(),
    createdAt: integer('created_at').notNull(),
    /** When the jobs were queued (the acknowledgement was sent); null while the first request is still enqueueing. */
    completedAt: integer('completed_at'),
  },
  (t) => [index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

/**
 * Tenants (contract/tenant.ts). The `local` tenant of auth-off servers needs no row: its policy
 * comes from the configuration.
 */
export const tenants = sqliteTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  policy: text('policy', { mode: 'json' }).$type<TenantPolicy>().notNull(),
  createdAt: integer('created_at').notNull(),
});

/**
 * API keys (contract/api-key.ts). The secret is stored only as a sha256; a key is found by the id
 * its token carries. Revoked keys stay (their id is named in logs), refused at once.
 */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    /** tenants.id, or `local`. */
    tenantId: text('tenant_id').notNull(),
    name: text('name'),
    /** `sha256:<hex>` of the token's secret part. */
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes', { mode: 'json' }).$type<Scope[]>().notNull(),
    createdAt: integer('created_at').notNull(),
    /** Updated at most once a minute per key and process (api/key-usage.ts), not at each request. */
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    /** Refused from then on; null: never expires. */
    expiresAt: integer('expires_at'),
  },
  (t) => [index('api_keys_tenant_idx').on(t.tenantId)],
);

export const images = sqliteTable('images', {
  /** Normalized reference, e.g. `docker.io/library/busybox:latest`. */
  reference: text('reference').primaryKey(),
  /** Manifest digest, `sha256:...`. */
  digest: text('digest').notNull(),
  /** The OCI image config (Entrypoint, Cmd, Env, WorkingDir, ...), as pulled. */
  config: text('config', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  /** Unpacked size of all layers (their uncompressed tars), in bytes: what `warmbox images` shows. */
  sizeBytes: integer('size_bytes').notNull(),
  createdAt: integer('created_at').notNull(),
});

/**
 * Triggers (webhooks in): a job template that POST /v1/hooks/{id} starts. The secret is stored as
 * it is for HMAC verification (the HMAC needs the key itself) and as a sha256 for bearer tokens; it
 * is shown once, in the answer that made it, and never returned or logged again.
 */
export const triggers = sqliteTable('triggers', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
  name: text('name'),
  /** The job request every delivery starts, validated and with its image normalized (and pulled) at creation. */
  template: text('template', { mode: 'json' }).$type<JobTemplate>().notNull(),
  verification: text('verification').$type<TriggerVerification>().notNull(),
  /** hmac-sha256: the secret itself; bearer: `sha256:<hex>` of the token. */
  secret: text('secret').notNull(),
  /** Delivery header names passed to the job as WARMBOX_HEADER_* variables, lower-cased. */
  passHeaders: text('pass_headers', { mode: 'json' }).$type<string[]>().notNull(),
  maxBodyBytes: integer('max_body_bytes').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Each delivery a trigger received (the last few per trigger are kept): what came and what it did. */
export const triggerDeliveries = sqliteTable(
  'trigger_deliveries',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    triggerId: text('trigger_id').notNull(),
    receivedAt: integer('received_at').notNull(),
    /** X-GitHub-Delivery, X-Delivery-Id or Idempotency-Key, when the sender gave one. */
    deliveryId: text('delivery_id'),
    outcome: text('outcome').$type<DeliveryOutcome>().notNull(),
    /** The HTTP status the sender was answered. */
    status: integer('status').notNull(),
    jobId: text('job_id'),
  },
  (t) => [index('trigger_deliveries_trigger_seq_idx').on(t.triggerId, t.seq)],
);

export const DELIVERY_OUTCOMES = ['started', 'replayed', 'unauthorized', 'stale', 'too_large', 'failed'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
export const DELIVERY_STATES = ['pending', 'delivered', 'dead'] as const;
/** pending: queued or between retries; delivered: a 2xx came back; dead: the last attempt failed (or the target is refused). */
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * One webhook delivery of a job's result, or of a finished judge run. The row is written in the
 * same transaction as the result (db/jobs.ts finishJob, db/judge-runs.ts finishJudgeRun): a
 * delivery exists as soon as the result does, whatever dies before it is queued, and a sweep
 * queues the pending ones that Redis does not hold.
 */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    /** The delivery's subject: a job (its result), or else the judge run below. */
    jobId: text('job_id').references(() => jobs.id, { onDelete: 'cascade' }),
    /** A judge run's delivery (`judge_run.finished`, or a Judge0 `callback_url`): its body is recorded with it, below. */
    judgeRunId: text('judge_run_id').references((): AnySQLiteColumn => judgeRuns.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    /** What is sent, when it was fixed as the delivery was recorded (a judge run's); null: made from the job at each attempt. */
    body: text('body'),
    url: text('url').notNull(),
    state: text('state', { enum: DELIVERY_STATES }).notNull(),
    /** Attempts made so far. */
    attempts: integer('attempts').notNull(),
    createdAt: integer('created_at').notNull(),
    /** The last change: creation, or the end of the last attempt. */
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_job_idx').on(t.jobId),
    index('webhook_deliveries_judge_run_idx').on(t.judgeRunId),
    index('webhook_deliveries_state_idx').on(t.state, t.updatedAt),
  ],
);

/** Each attempt of a delivery: when, what came back (or why nothing did), how long it took. */
export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    /** The delivery's subject: its job's id, or its judge run's. */
    jobId: text('job_id').notNull(),
    /** 1 for the first attempt. */
    attempt: integer('attempt').notNull(),
    /** When the attempt started. */
    at: integer('at').notNull(),
    /** The receiver's HTTP status; null when no response came (refused, unreachable, timed out). */
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** Why the attempt failed; null when it succeeded. */
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] }), index('webhook_attempts_job_idx').on(t.jobId)],
);

export type JobRow = typeof jobs.$inferSelect;
export type NewJobRow = typeof jobs.$inferInsert;
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
export type ImageRow = typeof images.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;
export type NewImageRow = typeof images.$inferInsert;
export type TriggerRow = typeof triggers.$inferSelect;
export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type TriggerDeliveryRow = typeof triggerDeliveries.$inferSelect;

/**
 * Blobs (test data uploaded once) as their tenants hold them: one row per tenant and digest. The
 * bytes are stored once in the blob store whoever uploads them; a tenant sees only the blobs it
 * has a row for. A blob no row names and no unfinished job references is collected (api/blob-gc.ts).
 */
export const blobs = sqliteTable(
  'blobs',
  {
    tenantId: text('tenant_id').notNull(),
    /** `sha256:<hex>` of the bytes. */
    digest: text('digest').notNull(),
    size: integer('size').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.digest] }), index('blobs_digest_idx').on(t.digest)],
);

export type BlobRow = typeof blobs.$inferSelect;

export const JUDGE_RUN_STATUSES = ['queued', 'running', 'finished'] as const;

/**
 * Judge runs (POST /v1/judge): a build once, then each test as an ordinary job. `view` is the run
 * as GET /v1/judge/{id} shows it (contract/judge.ts), rewritten as each step ends; the jobs it
 * started are rows of `jobs` of the same tenant.
 */
export const judgeRuns = sqliteTable(
  'judge_runs',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
    status: text('status', { enum: JUDGE_RUN_STATUSES }).notNull(),
    view: text('view', { mode: 'json' }).$type<JudgeRunView>().notNull(),
    /** What the run was asked to do, as it was accepted: what a process that takes the run over resumes from. */
    input: text('input', { mode: 'json' }).$type<JudgeRunInput>(),
    /** Where the finished run is POSTed (webhook_deliveries.judge_run_id). */
    webhookUrl: text('webhook_url'),
    /** The process driving the run (api/judge-run-lease.ts), and until when its lease holds: past it, another process takes the run over. */
    owner: text('owner'),
    leaseUntil: integer('lease_until'),
    createdAt: integer('created_at').notNull(),
    finishedAt: integer('finished_at'),
  },
  (t) => [index('judge_runs_tenant_created_at_idx').on(t.tenantId, t.createdAt), index('judge_runs_status_lease_idx').on(t.status, t.leaseUntil)],
);
export type JudgeRunRow = typeof judgeRuns.$inferSelect;

/**
 * Submissions made through the Judge0 drop-in (api/dropin/): the judge run that ran each one, and
 * the attributes it was created with, which Judge0 shows back (`source_code`, limits, ...).
 */
export const judge0Submissions = sqliteTable('judge0_submissions', {
  /** The submission's token: its judge run's id. */
  token: text('token')
    .primaryKey()
    .references(() => judgeRuns.id, { onDelete: 'cascade' }),
  request: text('request', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
});
export type Judge0SubmissionRow = typeof judge0Submissions.$inferSelect;
