/**
 * The Postgres tables: db/schema.ts's, field for field (test/db/pg-schema-mirror.test.ts compares
 * them), so that one query module serves both dialects (db/database.ts). Epoch-millisecond
 * timestamps and sizes are `bigint` read as numbers; JSON columns are `json` (kept as written,
 * unlike jsonb); output is `bytea`. After a change here run `npm run db:generate:pg` (drizzle-kit
 * writes db/pg/migrations/, which is checked in).
 */
import { bigint, boolean, customType, index, json, pgTable, primaryKey, serial, text, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';
import type { Scope } from '../../contract/api-key.js';
import { LOCAL_TENANT_ID, type TenantPolicy } from '../../contract/tenant.js';
import type { JobTemplate, TriggerVerification } from '../../contract/trigger.js';
import type { Verdict } from '../../contract/verdict.js';
import type { JudgeRunInput, JudgeRunView } from '../../contract/judge.js';
import { DELIVERY_STATES, JOB_STATUSES, JUDGE_RUN_STATUSES, type DeliveryOutcome } from '../schema.js';

/** SQLite's INTEGER: 64 bits, read as a JS number (epoch ms and byte counts fit in 2^53). */
const int = (name: string) => bigint(name, { mode: 'number' });

/** SQLite's BLOB in buffer mode. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
    status: text('status', { enum: JOB_STATUSES }).notNull(),
    image: text('image').notNull(),
    digest: text('digest'),
    request: json('request').$type<JobPayload>().notNull(),
    labels: json('labels').$type<Record<string, string>>().notNull(),
    webhookUrl: text('webhook_url'),
    createdAt: int('created_at').notNull(),
    startedAt: int('started_at'),
    finishedAt: int('finished_at'),
    result: json('result').$type<JobResult>(),
    stdout: bytea('stdout'),
    stderr: bytea('stderr'),
    verdict: text('verdict').$type<Verdict>(),
    exitCode: int('exit_code'),
  },
  (t) => [
    index('jobs_created_at_id_idx').on(t.createdAt, t.id),
    index('jobs_status_created_at_id_idx').on(t.status, t.createdAt, t.id),
    index('jobs_image_created_at_id_idx').on(t.image, t.createdAt, t.id),
    index('jobs_verdict_created_at_id_idx').on(t.verdict, t.createdAt, t.id),
    index('jobs_tenant_created_at_id_idx').on(t.tenantId, t.createdAt, t.id),
    index('jobs_tenant_status_idx').on(t.tenantId, t.status),
  ],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    requestHash: text('request_hash').notNull(),
    jobIds: json('job_ids').$type<string[]>().notNull(),
    createdAt: int('created_at').notNull(),
    completedAt: int('completed_at'),
  },
  (t) => [index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  policy: json('policy').$type<TenantPolicy>().notNull(),
  createdAt: int('created_at').notNull(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name'),
    secretHash: text('secret_hash').notNull(),
    scopes: json('scopes').$type<Scope[]>().notNull(),
    createdAt: int('created_at').notNull(),
    lastUsedAt: int('last_used_at'),
    revokedAt: int('revoked_at'),
    expiresAt: int('expires_at'),
  },
  (t) => [index('api_keys_tenant_idx').on(t.tenantId)],
);

export const images = pgTable('images', {
  reference: text('reference').primaryKey(),
  digest: text('digest').notNull(),
  config: json('config').$type<Record<string, unknown>>().notNull(),
  sizeBytes: int('size_bytes').notNull(),
  createdAt: int('created_at').notNull(),
});

export const triggers = pgTable('triggers', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
  name: text('name'),
  template: json('template').$type<JobTemplate>().notNull(),
  verification: text('verification').$type<TriggerVerification>().notNull(),
  secret: text('secret').notNull(),
  passHeaders: json('pass_headers').$type<string[]>().notNull(),
  maxBodyBytes: int('max_body_bytes').notNull(),
  enabled: boolean('enabled').notNull(),
  createdAt: int('created_at').notNull(),
});

export const triggerDeliveries = pgTable(
  'trigger_deliveries',
  {
    seq: serial('seq').primaryKey(),
    triggerId: text('trigger_id').notNull(),
    receivedAt: int('received_at').notNull(),
    deliveryId: text('delivery_id'),
    outcome: text('outcome').$type<DeliveryOutcome>().notNull(),
    status: int('status').notNull(),
    jobId: text('job_id'),
  },
  (t) => [index('trigger_deliveries_trigger_seq_idx').on(t.triggerId, t.seq)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id').references(() => jobs.id, { onDelete: 'cascade' }),
    judgeRunId: text('judge_run_id').references((): AnyPgColumn => judgeRuns.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    body: text('body'),
    url: text('url').notNull(),
    state: text('state', { enum: DELIVERY_STATES }).notNull(),
    attempts: int('attempts').notNull(),
    createdAt: int('created_at').notNull(),
    updatedAt: int('updated_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_job_idx').on(t.jobId),
    index('webhook_deliveries_judge_run_idx').on(t.judgeRunId),
    index('webhook_deliveries_state_idx').on(t.state, t.updatedAt),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    jobId: text('job_id').notNull(),
    attempt: int('attempt').notNull(),
    at: int('at').notNull(),
    statusCode: int('status_code'),
    latencyMs: int('latency_ms').notNull(),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] }), index('webhook_attempts_job_idx').on(t.jobId)],
);

export const blobs = pgTable(
  'blobs',
  {
    tenantId: text('tenant_id').notNull(),
    digest: text('digest').notNull(),
    size: int('size').notNull(),
    createdAt: int('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.digest] }), index('blobs_digest_idx').on(t.digest)],
);

export const judgeRuns = pgTable(
  'judge_runs',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().default(LOCAL_TENANT_ID),
    status: text('status', { enum: JUDGE_RUN_STATUSES }).notNull(),
    view: json('view').$type<JudgeRunView>().notNull(),
    input: json('input').$type<JudgeRunInput>(),
    webhookUrl: text('webhook_url'),
    owner: text('owner'),
    leaseUntil: int('lease_until'),
    createdAt: int('created_at').notNull(),
    finishedAt: int('finished_at'),
  },
  (t) => [index('judge_runs_tenant_created_at_idx').on(t.tenantId, t.createdAt), index('judge_runs_status_lease_idx').on(t.status, t.leaseUntil)],
);

export const judge0Submissions = pgTable('judge0_submissions', {
  token: text('token')
    .primaryKey()
    .references(() => judgeRuns.id, { onDelete: 'cascade' }),
  request: json('request').$type<Record<string, unknown>>().notNull(),
});
