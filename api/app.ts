/**
 * The HTTP API: createApp(deps) builds it from parts the server process owns. Validation errors,
 * thrown ApiErrors and anything unexpected all become JSON errors in errors.ts.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { limitBodySize } from './middleware/body-limit.js';
import { refuseWhileStopping } from './middleware/refuse-while-stopping.js';
import { logJobRefusals } from './middleware/job-refusal-log.js';
import { authenticate } from './middleware/auth.js';
import { registerOpenApiDocument } from './openapi.js';
import { REQUEST_BOUNDS } from './request-bounds.js';
import { BLOB_UPLOAD_PATHS, BLOBS_PATH, registerBlobs } from './routes/blobs.js';
import { registerInternalBlobs } from './routes/internal-blobs.js';
import { registerCreateJob } from './routes/create-job.js';
import { registerCreateJobBatch } from './routes/create-job-batch.js';
import { registerListJobs } from './routes/list-jobs.js';
import { registerCancelJob } from './routes/cancel-job.js';
import { registerGetJob } from './routes/get-job.js';
import { registerSystemDf } from './routes/system-df.js';
import { registerSystemStatus } from './routes/system-status.js';
import { registerHealth } from './routes/health.js';
import { IMAGE_IMPORT_PATH, registerImages } from './routes/images.js';
import { registerJobDeliveries } from './routes/job-deliveries.js';
import { registerJobEvents } from './routes/job-events.js';
import { registerMetrics } from './routes/metrics.js';
import { traceRequests } from './middleware/http-tracing.js';
import { registerPools } from './routes/pools.js';
import { registerQueue } from './routes/queue.js';
import { registerHooks } from './routes/hooks.js';
import { registerTriggers } from './routes/triggers.js';
import { registerKeys } from './routes/keys.js';
import { registerTenants } from './routes/tenants.js';
import { registerTenantPolicy } from './routes/tenant-policy.js';
import { registerJudge0 } from './dropin/judge0-routes.js';
import { registerPiston } from './dropin/piston-routes.js';
import { registerJudge } from './routes/judge.js';
import { registerJudgeDeliveries } from './routes/judge-deliveries.js';
import { validationHook } from './validation-errors.js';

export type { AppDeps, ApiConfig, MetricsText } from './deps.js';

/** Job submissions: each refusal is logged once, with its code. */
const JOBS_PATH = '/v1/jobs';
/** Where request bodies are buffered under the body limit. */
const BODY_LIMITED = '/v1/*';
/**
 * Image archives and blobs are streamed to disk under their own limits (WARMBOX_IMPORT_MAX_BYTES,
 * WARMBOX_BLOB_MAX_BYTES), not buffered.
 */
const BODY_LIMIT_EXEMPT = [IMAGE_IMPORT_PATH, ...BLOB_UPLOAD_PATHS];
/** The Judge0 and Piston drop-ins' routes that take work (api/dropin/), buffered under the same limit. */
const DROP_IN_WORK_PATHS = ['/submissions', '/submissions/*', '/api/v2/execute'];
/** Where a POST, PUT or DELETE starts new work: refused while the server stops (a cancel is not). */
const NEW_WORK_PATHS = ['/v1/jobs', '/v1/images/*', '/v1/triggers', '/v1/hooks/*', '/v1/judge', ...BLOB_UPLOAD_PATHS, ...DROP_IN_WORK_PATHS];

export function createApp(deps: AppDeps): OpenAPIHono {
  checkConfig(deps);
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  if (deps.tracing) app.use('*', traceRequests());
  app.use('*', authenticate(deps));
  const stopping = refuseWhileStopping(() => deps.stopping?.() ?? false);
  for (const path of NEW_WORK_PATHS) app.use(path, stopping);
  app.post(JOBS_PATH, logJobRefusals(deps.logger));
  const maxBodyBytes = deps.config.maxBodyBytes ?? REQUEST_BOUNDS.bodyBytes;
  app.use(BODY_LIMITED, limitBodySize(maxBodyBytes, BODY_LIMIT_EXEMPT));
  const bodyLimit = limitBodySize(maxBodyBytes);
  for (const path of DROP_IN_WORK_PATHS) app.use(path, bodyLimit);

  registerHealth(app, deps);
  registerCreateJob(app, deps);
  registerCreateJobBatch(app, deps);
  registerListJobs(app, deps);
  registerGetJob(app, deps);
  registerCancelJob(app, deps);
  registerQueue(app, deps);
  registerSystemDf(app, deps);
  registerSystemStatus(app, deps);
  registerJobEvents(app, deps);
  registerJobDeliveries(app, deps);
  registerPools(app, deps);
  registerImages(app, deps);
  if (deps.blobs !== undefined) registerBlobs(app, deps, deps.blobs);
  if (deps.internalBlobs !== undefined) registerInternalBlobs(app, deps.internalBlobs);
  registerTriggers(app, deps);
  registerHooks(app, deps);
  registerKeys(app, deps);
  registerTenants(app, deps);
  registerTenantPolicy(app, deps);
  registerJudge(app, deps);
  registerJudgeDeliveries(app, deps);
  registerJudge0(app, deps);
  registerPiston(app, deps);
  registerMetrics(app, deps);
  registerOpenApiDocument(app, { bodyLimited: (path) => path.startsWith('/v1/') && path !== IMAGE_IMPORT_PATH && !path.startsWith(BLOBS_PATH) });
  return app;
}

function checkConfig({ config }: AppDeps): void {
  const { maxWaitMs, defaultWaitMs, maxBodyBytes, sseKeepAliveMs, maxBatchJobs } = config;
  const problems = [
    !(Number.isInteger(maxWaitMs) && maxWaitMs >= 0) && `maxWaitMs must be an integer >= 0 (got ${maxWaitMs})`,
    !(Number.isInteger(defaultWaitMs) && defaultWaitMs >= 0 && defaultWaitMs <= maxWaitMs) &&
      `defaultWaitMs must be an integer between 0 and maxWaitMs ${maxWaitMs} (got ${defaultWaitMs})`,
    maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0) && `maxBodyBytes must be a positive integer (got ${maxBodyBytes})`,
    sseKeepAliveMs !== undefined && !(Number.isInteger(sseKeepAliveMs) && sseKeepAliveMs > 0) && `sseKeepAliveMs must be a positive integer (got ${sseKeepAliveMs})`,
    maxBatchJobs !== undefined && !(Number.isInteger(maxBatchJobs) && maxBatchJobs >= 1 && maxBatchJobs <= REQUEST_BOUNDS.batchJobsMaximum) &&
      `maxBatchJobs must be an integer from 1 to ${REQUEST_BOUNDS.batchJobsMaximum} (got ${maxBatchJobs})`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new Error(`invalid API config: ${problems.join('; ')}`);
}
