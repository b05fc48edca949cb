/**
 * POST /v1/hooks/{trigger}: an external webhook starts its trigger's job. A checklist: find the
 * enabled trigger (404 for an unknown or a disabled one alike) → read the raw body up to its limit
 * (413) → verify it (401) → refuse a stale timestamp (401) → start the job, once per delivery id
 * (the Idempotency-Key machinery: a replay answers 200 with the first job) → 202. Every delivery
 * to a trigger is recorded, with its outcome.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { TriggerRow } from '../../db/schema.js';
import { getTrigger, recordDelivery } from '../../db/triggers.js';
import type { DeliveryOutcome } from '../../db/schema.js';
import type { AppDeps } from '../deps.js';
import { ApiError, toApiError } from '../errors.js';
import { readBodyUpTo } from '../hook-body.js';
import { deliveryJobRequest } from '../hook-job.js';
import { requestHash } from '../idempotency.js';
import { submitJobs } from '../job-submission.js';
import { retryAfterHeaderDoc, TENANT_403, TENANT_429 } from './create-job.js';
import { tenantById } from '../tenant-lookup.js';
import type { Tenant } from '../../contract/tenant.js';
import { jobLocation } from '../job-view.js';
import { REQUEST_BOUNDS } from '../request-bounds.js';
import { errorResponse } from '../schemas/error.js';
import { hookAnswerSchema } from '../schemas/trigger.js';
import { deliveryStale, deliveryVerified, TIMESTAMP_HEADER } from '../trigger-verification.js';
import { TRIGGER_ID_PATTERN } from '../trigger-view.js';

/** Where a delivery's id is read from, first found wins. */
export const DELIVERY_ID_HEADERS = ['x-github-delivery', 'x-delivery-id', 'idempotency-key'] as const;

const params = z.object({ trigger: z.string().openapi({ param: { name: 'trigger', in: 'path' }, example: 'trg_5mQx1L0cS2xY9k2rWQ1t3A' }) });

export function registerHooks(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/hooks/{trigger}',
    operationId: 'deliverHook',
    tags: ['triggers'],
    summary: 'Deliver a webhook: start the trigger\'s job',
    description:
      'The body (any media type, as sent) is verified as the trigger says: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 ' +
      'of the raw body>` as GitHub signs, or `Authorization: Bearer <secret>`. Then the trigger\'s job starts with the body ' +
      'on stdin and as the file `.warmbox-payload` in its working directory, and the trigger\'s passHeaders as WARMBOX_HEADER_* ' +
      `variables. The delivery id is the first of ${DELIVERY_ID_HEADERS.join(', ')}: the same id within 24 hours answers 200 ` +
      `with the first delivery's job and runs nothing. A sender's \`${TIMESTAMP_HEADER}\` (unix seconds) further than ` +
      `${REQUEST_BOUNDS.hookTimestampToleranceSeconds} s from the server's clock is refused as stale.`,
    request: { params, body: { required: false, content: { '*/*': { schema: z.string().openapi({ format: 'binary' }) } } } },
    responses: {
      200: { description: 'A replay of a delivery id seen before: the first delivery\'s job; nothing ran.', content: { 'application/json': { schema: hookAnswerSchema } } },
      202: {
        description: 'Verified: the job is queued.',
        headers: { Location: { schema: { type: 'string' }, description: 'The job: /v1/jobs/{id}' } },
        content: { 'application/json': { schema: hookAnswerSchema } },
      },
      400: errorResponse('A delivery id that is not 1 to 255 visible ASCII characters (invalid_request).'),
      401: errorResponse('A missing or wrong signature or token (unauthorized), or a stale timestamp (stale_delivery): nothing ran.'),
      403: errorResponse(`The trigger's template is no longer allowed by its tenant's policy: ${TENANT_403}`),
      404: errorResponse('No such trigger, or it is disabled (trigger_not_found): the answer does not say which.'),
      422: errorResponse('The trigger\'s template asks for a limit above its tenant\'s cap (tenant_limit_exceeded).'),
      429: { ...errorResponse(TENANT_429), headers: { 'Retry-After': retryAfterHeaderDoc } },
      413: errorResponse('The body is larger than the trigger\'s maxBodyBytes (payload_too_large).'),
      409: errorResponse('A delivery with the same id is still being started (idempotency_key_in_use): redeliver after `Retry-After`.'),
      503: errorResponse('The job could not be queued (queue_unavailable, db_unavailable, overloaded), or its image, removed since, could not be pulled again: nothing ran; the sender may redeliver.'),
      507: errorResponse('The server\'s disk is full (storage_full): nothing ran; the sender may redeliver.'),
    },
  });

  app.openapi(route, async (c) => {
    const trigger = await enabledTriggerOr404(deps, c.req.valid('param').trigger);
    const headers = c.req.raw.headers;
    const deliveryId = deliveryIdOf(headers);
    const record = (outcome: DeliveryOutcome, status: number, jobId: string | null = null) =>
      recordDelivery(deps.db, { triggerId: trigger.id, receivedAt: Date.now(), deliveryId: deliveryId ?? null, outcome, status, jobId });
    try {
      const body = await readBodyUpTo(c.req.raw, trigger.maxBodyBytes);
      if (!deliveryVerified(trigger.verification, trigger.secret, headers, body)) {
        throw new ApiError(401, 'unauthorized', trigger.verification === 'bearer' ? 'missing or wrong bearer token' : 'missing or wrong X-Hub-Signature-256');
      }
      if (deliveryStale(headers)) throw new ApiError(401, 'stale_delivery', `${TIMESTAMP_HEADER} is more than ${REQUEST_BOUNDS.hookTimestampToleranceSeconds} s from the server's clock`);
      const { rows, replayed } = await submitJobs(deps, [deliveryJobRequest(trigger, body, headers, deliveryId)], {
        tenant: await triggerTenant(deps, trigger),
        idempotency: deliveryId === undefined ? undefined : { key: `hook ${trigger.id} ${deliveryId}`, hash: requestHash('POST /v1/hooks', trigger.id) },
      });
      const job = rows[0];
      if (job === undefined) throw new ApiError(503, 'queue_unavailable', 'the first delivery with this id was not queued; redeliver', {}, { 'Retry-After': '1' });
      await record(replayed ? 'replayed' : 'started', replayed ? 200 : 202, job.id);
      c.header('Location', jobLocation(job.id));
      const answer = { jobId: job.id, deliveryId: deliveryId ?? null, replayed };
      return replayed ? c.json(answer, 200) : c.json(answer, 202);
    } catch (err) {
      await recordRefusal(err, (outcome, status) => record(outcome, status), deps);
      throw err;
    }
  });
}

/** The trigger's owner and its policy now (a policy changed since the trigger was made applies). */
async function triggerTenant(deps: AppDeps, trigger: TriggerRow): Promise<Tenant> {
  const tenant = await tenantById(deps, trigger.tenantId);
  if (tenant === undefined) throw new ApiError(404, 'trigger_not_found', 'no such trigger, or it is disabled');
  return tenant;
}

async function enabledTriggerOr404(deps: AppDeps, id: string): Promise<TriggerRow> {
  const row = TRIGGER_ID_PATTERN.test(id) ? await getTrigger(deps.db, id) : undefined;
  if (row === undefined || !row.enabled) throw new ApiError(404, 'trigger_not_found', 'no such trigger, or it is disabled');
  return row;
}

function deliveryIdOf(headers: Headers): string | undefined {
  for (const name of DELIVERY_ID_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    if (!/^[\x21-\x7e]+$/.test(value) || value.length > REQUEST_BOUNDS.deliveryIdChars) {
      throw new ApiError(400, 'invalid_request', `${name}: must be 1 to ${REQUEST_BOUNDS.deliveryIdChars} visible ASCII characters`, { field: name, in: 'header' });
    }
    return value;
  }
  return undefined;
}

/** Records what the sender is about to be answered; a record that cannot be written does not change that answer. */
async function recordRefusal(err: unknown, record: (outcome: DeliveryOutcome, status: number) => Promise<void>, deps: AppDeps): Promise<void> {
  const apiError = toApiError(err);
  try {
    await record(apiError === undefined ? 'failed' : outcomeOf(apiError), apiError?.status ?? 500);
  } catch (recordErr) {
    deps.logger.warn({ err: recordErr }, 'recording a refused webhook delivery failed');
  }
}

function outcomeOf(err: ApiError): DeliveryOutcome {
  if (err.status === 413) return 'too_large';
  if (err.code === 'stale_delivery') return 'stale';
  if (err.status === 401) return 'unauthorized';
  return 'failed';
}
