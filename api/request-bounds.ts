/**
 * Server bounds on the parts of a job request that are not resource limits (those are
 * contract/limits.ts). Above a bound a request is rejected with 422; the whole body with 413.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

export const REQUEST_BOUNDS = Object.freeze({
  /** The HTTP body as sent (base64 file contents count at their encoded size). */
  bodyBytes: 16 * MiB,
  imageChars: 1024,
  cmdArgs: 4096,
  /** One argument; Linux refuses longer ones (MAX_ARG_STRLEN). */
  cmdArgChars: 128 * KiB,
  stdinBytes: 4 * MiB,
  envVars: 256,
  envNameChars: 256,
  envValueChars: 32 * KiB,
  files: 256,
  /** All files' decoded contents together. */
  filesBytes: 8 * MiB,
  filePathChars: 1024,
  /** One path component (NAME_MAX). */
  fileNameBytes: 255,
  labels: 64,
  labelKeyChars: 128,
  labelValueChars: 1024,
  webhookUrlChars: 2048,
  /** Jobs in one POST /v1/jobs/batch, unless the server is configured otherwise (WARMBOX_BATCH_MAX_JOBS)... */
  batchJobs: 100,
  /** ...up to this. */
  batchJobsMaximum: 1000,
  /** GET /v1/jobs: jobs per page when `limit` is not given, and at most. */
  listJobs: 20,
  listJobsMaximum: 200,
  /** POST /v1/hooks/{trigger}: a delivery's body, unless its trigger says otherwise (413 above)... */
  hookBodyBytes: 1 * MiB,
  /** ...up to this (the body is the job's stdin, so at most stdinBytes). */
  hookBodyBytesMaximum: 4 * MiB,
  /** Delivery headers a trigger passes on as environment variables. */
  hookHeaders: 32,
  hookHeaderNameChars: 128,
  /** A trigger's secret, when the client chooses it (generated ones are 43 characters). */
  triggerSecretMinChars: 16,
  triggerSecretMaxChars: 256,
  triggerNameChars: 128,
  /** A delivery id (X-GitHub-Delivery, X-Delivery-Id, Idempotency-Key). */
  deliveryIdChars: 255,
  /** A delivery whose X-Webhook-Timestamp is further than this from the server's clock is refused (401), in seconds. */
  hookTimestampToleranceSeconds: 300,
  /** An API key's name (POST /v1/keys, `warmbox keys create --name`). */
  keyNameChars: 128,
  /** An API key's lifetime when it is given one (`expiresInSeconds`): at most ten years. */
  keyExpiresInSecondsMaximum: 10 * 365 * 24 * 3600,
});
