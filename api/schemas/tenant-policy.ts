/**
 * A tenant's policy (contract/tenant.ts) on the wire: GET/PUT /v1/tenants/{id}/policy, and the
 * check that `warmbox tenants policy` and the local tenant's WARMBOX_TENANT_* variables pass too.
 * Bounds come from contract/tenant-policy-bounds.ts and, for limit caps, contract/limits.ts.
 */
import { z } from '@hono/zod-openapi';
import { MAX_LIMITS, MIN_LIMITS, type Limits } from '../../contract/limits.js';
import type { TenantPolicy } from '../../contract/tenant.js';
import { TENANT_POLICY_BOUNDS as B } from '../../contract/tenant-policy-bounds.js';

function cap(name: keyof Limits, unit: string) {
  const n = name === 'cpus' ? z.number() : z.number().int();
  return n
    .min(MIN_LIMITS[name])
    .max(MAX_LIMITS[name])
    .optional()
    .openapi({ description: `The largest ${name} (${unit}) a job of the tenant may ask for; a request above it → 422 tenant_limit_exceeded. Absent: the server's maximum.` });
}

const limitCapsSchema = z
  .strictObject({
    wallTimeMs: cap('wallTimeMs', 'ms'),
    cpuTimeMs: cap('cpuTimeMs', 'ms'),
    memoryBytes: cap('memoryBytes', 'bytes'),
    pids: cap('pids', 'processes'),
    outputBytes: cap('outputBytes', 'bytes'),
    stderrBytes: cap('stderrBytes', 'bytes'),
    stackBytes: cap('stackBytes', 'bytes'),
    diskBytes: cap('diskBytes', 'bytes'),
    openFiles: cap('openFiles', 'descriptors'),
    fileSizeBytes: cap('fileSizeBytes', 'bytes'),
    cpus: cap('cpus', 'cores'),
  } satisfies Record<keyof Limits, unknown>)
  .openapi('LimitCaps', { description: 'A job that leaves a capped limit out gets the smaller of the default and the cap.' });

const imagePattern = z
  .string()
  .min(1)
  .max(B.images.maxPatternChars)
  .regex(/^[^\s*]+\*?$|^\*$/, 'must be an image reference, or a prefix ending in * (e.g. docker.io/library/python*)');

export const tenantPolicySchema = z
  .strictObject({
    rate: z
      .strictObject({
        perSecond: z.number().min(B.ratePerSecond.min).max(B.ratePerSecond.max).openapi({ description: 'Tokens added per second (jobs per second, sustained).', example: 10 }),
        burst: z.number().int().min(B.burst.min).max(B.burst.max).openapi({ description: 'The bucket\'s size: most jobs accepted at once after a quiet spell.', example: 20 }),
      })
      .nullable()
      .default(null)
      .openapi({ description: 'Job submissions as a token bucket (each job takes one token; a batch of N takes N, all or none; above → 429 rate_limited with Retry-After). null: unlimited.' }),
    maxQueuedJobs: z.number().int().min(B.maxQueuedJobs.min).max(B.maxQueuedJobs.max).nullable().default(null).openapi({ description: 'Most jobs of the tenant queued at once (above → 429 too_many_queued). null: no cap.', example: 100 }),
    maxRunningJobs: z.number().int().min(B.maxRunningJobs.min).max(B.maxRunningJobs.max).nullable().default(null).openapi({ description: 'Most jobs of the tenant running at once across all workers; the others wait in the queue. null: no cap.', example: 4 }),
    limitCaps: limitCapsSchema.default({}),
    images: z
      .array(imagePattern)
      .max(B.images.maxPatterns)
      .nullable()
      .default(null)
      .openapi({
        description: 'Images the tenant may run, matched against the normalized reference (`busybox` is `docker.io/library/busybox:latest`); a pattern ending in `*` matches a prefix. Outside → 403 image_not_allowed, before any pull. null: any image.',
        example: ['docker.io/library/python*', 'docker.io/library/busybox:latest'],
      }),
    network: z.boolean().default(true).openapi({ description: 'Whether the tenant\'s jobs may ask for a network other than "none" (else 403 network_not_allowed).' }),
    retentionSeconds: z
      .number()
      .int()
      .min(B.retentionSeconds.min)
      .max(B.retentionSeconds.max)
      .nullable()
      .default(null)
      .openapi({ description: 'Finished jobs, their output and webhook deliveries are deleted this long after they finish. null: the server\'s default (WARMBOX_RETENTION).', example: 604800 }),
  })
  .openapi('TenantPolicy');

export const tenantPolicyViewSchema = z
  .object({
    tenant: z.string().openapi({ description: 'The tenant\'s id.', example: 'local' }),
    policy: tenantPolicySchema,
    configured: z.boolean().openapi({ description: 'True for the local tenant: its policy is the server\'s configuration (WARMBOX_TENANT_*), not editable here.' }),
  })
  .openapi('TenantPolicyView');

/** A policy made elsewhere (flags, environment, a stored row) checked as PUT checks it; the first problem, named. */
export function checkedPolicy(policy: unknown): TenantPolicy {
  const parsed = tenantPolicySchema.safeParse(policy);
  if (parsed.success) return parsed.data as TenantPolicy;
  const issue = parsed.error.issues[0]!;
  throw new Error(`${issue.path.join('.') || 'policy'}: ${issue.message}`);
}
