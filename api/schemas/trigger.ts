/**
 * The bodies and answers of /v1/triggers and /v1/hooks/{trigger}. A trigger's job template is a
 * job request (the same schema, the same bounds) without `stdin`: a delivery's body is the stdin.
 */
import { z } from '@hono/zod-openapi';
import { HEADER_ENV_PREFIX, PAYLOAD_FILE, TRIGGER_ENV, TRIGGER_VERIFICATIONS, headerEnvName } from '../../contract/trigger.js';
import { DELIVERY_OUTCOMES } from '../../db/schema.js';
import { normalizeFilePath } from '../file-path.js';
import { ADDED_ENV_VARS, ADDED_LABELS, DELIVERY_LABEL, TRIGGER_LABEL } from '../hook-job.js';
import { REQUEST_BOUNDS as B } from '../request-bounds.js';
import { fileContentBytes, jobRequestSchema } from './job-request.js';

/** Headers that carry the sender's credentials: never handed to a job. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-hub-signature', 'x-hub-signature-256']);
const RESERVED_ENV = new Set<string>(Object.values(TRIGGER_ENV));

export const jobTemplateSchema = jobRequestSchema
  .omit({ stdin: true })
  .superRefine((template, ctx) => {
    for (const name of Object.keys(template.env ?? {})) {
      if (name.startsWith(HEADER_ENV_PREFIX) || RESERVED_ENV.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['env', name], message: `is set by the trigger for each delivery (${HEADER_ENV_PREFIX}*, ${[...RESERVED_ENV].join(', ')})` });
      }
    }
    for (const key of [TRIGGER_LABEL, DELIVERY_LABEL]) {
      if (template.labels?.[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['labels', key], message: 'is set by the trigger for each delivery' });
    }
    (template.files ?? []).forEach((file, i) => {
      if (normalizeFilePath(file.path) === PAYLOAD_FILE) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `is where the delivery's body is placed (${PAYLOAD_FILE})` });
    });
  })
  .openapi('JobTemplate', { description: 'A job request without `stdin`: each delivery runs it with its body on stdin and as the file `' + PAYLOAD_FILE + '`.' });

const headerNameSchema = z
  .string()
  .max(B.hookHeaderNameChars)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'must be a header name: letters, digits and -')
  .refine((name) => !SECRET_HEADERS.has(name.toLowerCase()), 'carries the sender\'s credentials and is never passed to a job');

export const createTriggerSchema = z
  .strictObject({
    name: z.string().min(1).max(B.triggerNameChars).optional().openapi({ example: 'deploy on push' }),
    job: jobTemplateSchema,
    verification: z.enum(TRIGGER_VERIFICATIONS).default('hmac-sha256').openapi({
      description: 'hmac-sha256: the sender signs the raw body as GitHub does, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. bearer: the sender sends `Authorization: Bearer <secret>`.',
    }),
    secret: z
      .string()
      .min(B.triggerSecretMinChars)
      .max(B.triggerSecretMaxChars)
      .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters, no spaces')
      .optional()
      .openapi({ description: 'Generated (32 random bytes, base64url) when absent. Shown once, in the 201 answer; never again.' }),
    passHeaders: z
      .array(headerNameSchema)
      .max(B.hookHeaders)
      .default([])
      .superRefine((names, ctx) => {
        const seen = new Set<string>();
        names.forEach((name, i) => {
          if (seen.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [i], message: `names ${name} twice` });
          seen.add(name.toLowerCase());
        });
      })
      .openapi({ description: `Delivery headers given to the job as environment variables: X-GitHub-Event → ${headerEnvName('X-GitHub-Event')} (upper case, - → _); an absent header is not set. Authorization, Cookie and the signature headers are refused.`, example: ['X-GitHub-Event'] }),
    maxBodyBytes: z
      .number()
      .int()
      .min(1)
      .max(B.hookBodyBytesMaximum)
      .default(B.hookBodyBytes)
      .openapi({ description: `Largest delivery body (413 above). Default ${B.hookBodyBytes}, at most ${B.hookBodyBytesMaximum}.` }),
    enabled: z.boolean().default(true),
  })
  .superRefine((trigger, ctx) => {
    // The body is also a file: with the template's files it must fit the bound on a job's files.
    const files = (trigger.job.files ?? []).reduce((sum, f) => sum + fileContentBytes(f), 0);
    if (files + trigger.maxBodyBytes > B.filesBytes) {
      ctx.addIssue({ code: 'too_big', origin: 'bytes', maximum: B.filesBytes - files, inclusive: true, path: ['maxBodyBytes'], message: `with the template's ${files} bytes of files, above the ${B.filesBytes} bytes a job's files may hold` });
    }
    // Each delivery adds variables and labels: the job it makes must still be within the bounds.
    const env = Object.keys(trigger.job.env ?? {}).length + trigger.passHeaders.length + ADDED_ENV_VARS;
    if (env > B.envVars) tooMany(ctx, ['job', 'env'], B.envVars - trigger.passHeaders.length - ADDED_ENV_VARS, `with passHeaders and the ${ADDED_ENV_VARS} variables each delivery sets, ${env} variables, above the maximum ${B.envVars}`);
    const labels = Object.keys(trigger.job.labels ?? {}).length + ADDED_LABELS;
    if (labels > B.labels) tooMany(ctx, ['job', 'labels'], B.labels - ADDED_LABELS, `with the ${ADDED_LABELS} labels each delivery sets, ${labels} labels, above the maximum ${B.labels}`);
  })
  .openapi('TriggerRequest');

function tooMany(ctx: z.RefinementCtx, path: PropertyKey[], maximum: number, message: string): void {
  ctx.addIssue({ code: 'too_big', origin: 'bytes', maximum, inclusive: true, path, message });
}

export const patchTriggerSchema = z.strictObject({ enabled: z.boolean() }).openapi('TriggerPatch');

export const deliverySchema = z
  .object({
    receivedAt: z.string().openapi({ example: '2026-12-02T05:00:00.000Z' }),
    deliveryId: z.string().nullable(),
    outcome: z.enum(DELIVERY_OUTCOMES).openapi({ description: 'started: a job was started; replayed: the delivery id was seen before, nothing ran; unauthorized, stale, too_large: refused; failed: the job could not be queued.' }),
    status: z.number().int().openapi({ description: 'The HTTP status the sender was answered.' }),
    jobId: z.string().nullable(),
  })
  .openapi('TriggerDelivery');

export const triggerViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string().openapi({ description: 'Whose trigger it is: the jobs it starts are that tenant\'s.' }),
    name: z.string().nullable(),
    enabled: z.boolean(),
    verification: z.enum(TRIGGER_VERIFICATIONS),
    passHeaders: z.array(z.object({ header: z.string(), env: z.string() })),
    maxBodyBytes: z.number().int(),
    job: z.record(z.string(), z.unknown()).openapi({ description: 'The job template, its image normalized.' }),
    hookPath: z.string().openapi({ example: '/v1/hooks/trg_5mQx1L0cS2xY9k2rWQ1t3A' }),
    createdAt: z.string(),
    deliveries: z.array(deliverySchema).optional().openapi({ description: 'GET /v1/triggers/{id} only: the last deliveries, newest first.' }),
  })
  .openapi('Trigger');

export const createdTriggerSchema = triggerViewSchema
  .extend({ secret: z.string().openapi({ description: 'The secret: shown in this answer only. Keep it; warmbox never shows it again.' }) })
  .openapi('CreatedTrigger');

export const hookAnswerSchema = z
  .object({
    jobId: z.string(),
    deliveryId: z.string().nullable(),
    replayed: z.boolean().openapi({ description: 'True when the delivery id was seen before: the job is the first delivery\'s; nothing ran again.' }),
  })
  .openapi('HookDelivery');

export type CreateTriggerRequest = z.infer<typeof createTriggerSchema>;
export type JobTemplateRequest = z.infer<typeof jobTemplateSchema>;
export type TriggerView = z.infer<typeof triggerViewSchema>;
