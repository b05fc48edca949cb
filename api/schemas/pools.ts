/** GET /v1/pools and PUT /v1/pools/{image}: warm pools across workers (queue/pool-registry.ts). */
import { z } from '@hono/zod-openapi';
import { POOL_BOUNDS_MAX } from '../../contract/pools.js';
import { NETWORK_MODES } from '../../contract/network-mode.js';

const count = () => z.number().int().min(0);
const perSecond = (description: string) => z.number().min(0).openapi({ description });
const epochMs = (description: string) => z.number().int().openapi({ description: `${description}, milliseconds since the epoch.` });

export const imageParamSchema = z.object({
  image: z
    .string()
    .min(1)
    .openapi({
      param: { name: 'image', in: 'path' },
      description: 'An image reference, URL-encoded: `busybox`, `python:3.12`, `docker.io%2Flibrary%2Fbusybox%3Alatest`.',
      example: 'busybox',
    }),
});

export const poolBoundsBodySchema = z
  .strictObject({
    min: count()
      .max(POOL_BOUNDS_MAX)
      .openapi({ description: 'Sandboxes each worker keeps parked even when idle.', example: 1 }),
    max: count()
      .max(POOL_BOUNDS_MAX)
      .openapi({ description: `Most sandboxes one worker keeps parked for the image; 0: every job starts cold. At most ${POOL_BOUNDS_MAX} (above → 422); at least min.`, example: 16 }),
  })
  .openapi('PoolBoundsRequest');

export const storedPoolBoundsSchema = z
  .object({
    image: z.string().openapi({ description: 'Normalized reference.', example: 'docker.io/library/busybox:latest' }),
    min: count(),
    max: count(),
    updatedAt: epochMs('When they were set'),
  })
  .openapi('PoolBounds');

const poolStatsSchema = z
  .object({
    image: z.string().openapi({ example: 'docker.io/library/busybox:latest' }),
    digest: z.string(),
    diskBytes: count().openapi({ description: 'Sandboxes are built with their writable layer sized: one pool per size.' }),
    network: z.enum(NETWORK_MODES).openapi({ description: 'Sandboxes with network `bridge` are pooled apart: their veth and address are made with them.' }),
    parked: count().openapi({ description: 'Sandboxes parked, ready for a command.' }),
    creating: count().openapi({ description: 'Sandboxes being made for the pool.' }),
    target: count().openapi({ description: "What the pool fills to now: its policy's figure (claim rate × creation time, plus a burst allowance) within min..max." }),
    min: count().openapi({ description: 'Configured minimum (API, pre-warm list or the default).' }),
    max: count().openapi({ description: 'Configured maximum.' }),
    demandFloor: count().openapi({ description: 'Kept parked at least, for now, because a worker took a job of the image (the demand broadcast).' }),
    claims: count().openapi({ description: 'Jobs that asked this pool for a sandbox.' }),
    warmClaims: count().openapi({ description: 'Of those, found one parked.' }),
    coldStarts: count().openapi({ description: 'Of those, had to make one (a cold start).' }),
    created: count(),
    createFailures: count(),
    claimRate: perSecond('Claims per second, a moving average.'),
    refillRate: perSecond("Sandboxes made per second over the pool's life."),
  })
  .openapi('PoolStats');

const workerPoolsSchema = z
  .object({
    id: z.string().openapi({ description: 'hostname-pid', example: 'worker-1-4242' }),
    hostname: z.string(),
    pid: z.number().int(),
    concurrency: count(),
    startedAt: epochMs('When the worker started'),
    updatedAt: epochMs('When it last published (every second)'),
    parkedTotal: count().openapi({ description: 'Sandboxes parked or being made in all its pools.' }),
    maxParkedTotal: count().openapi({ description: 'Its cap on parkedTotal (WARMBOX_POOL_MAX_TOTAL).' }),
    pools: z.array(poolStatsSchema),
    runningJobs: count().optional().openapi({ description: 'Jobs it runs now.' }),
    versions: z
      .object({ warmbox: z.string(), node: z.string(), kernel: z.string(), cgroup: z.enum(['v1', 'v2']) })
      .optional()
      .openapi({ description: 'What it runs on: warmbox, Node, the kernel release, and its cgroup driver.' }),
  })
  .openapi('WorkerPools');

export const poolsViewSchema = z
  .object({
    workers: z.array(workerPoolsSchema).openapi({ description: 'Every worker that published in the last seconds, by id.' }),
    bounds: z.array(storedPoolBoundsSchema).openapi({ description: 'Bounds set with PUT /v1/pools/{image}, by image.' }),
  })
  .openapi('Pools');
