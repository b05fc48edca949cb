/** Request and response schemas of the /v1/images routes. */
import { z } from '@hono/zod-openapi';
import { RECIPE_NAMES } from '../../contract/recipe-names.js';
import { REQUEST_BOUNDS } from '../request-bounds.js';

const timestamp = () => z.iso.datetime().openapi({ example: '2025-01-01T12:00:00.000Z' });
const reference = () =>
  z.string().min(1).max(REQUEST_BOUNDS.imageChars).openapi({ description: 'An image reference: `busybox`, `python:3.12`, `ghcr.io/org/img@sha256:…`.', example: 'busybox' });

export const imageReferenceParamSchema = z.object({
  reference: z
    .string()
    .min(1)
    .openapi({
      param: { name: 'reference', in: 'path' },
      description: 'An image reference, URL-encoded: `busybox`, `127.0.0.1%3A5000%2Fteam%2Ftool%3A1`.',
      example: 'busybox',
    }),
});

export const pullRequestSchema = z.strictObject({ reference: reference() }).openapi('PullRequest');

export const pullQuerySchema = z.object({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: '`false`: answer 202 with the operation at once instead of streaming its progress. Default `true`.' }),
});

export const buildRequestSchema = z
  .strictObject({
    name: z.enum(RECIPE_NAMES as [string, ...string[]]).openapi({ description: 'A recipe of infra/images/.', example: 'python' }),
    reference: reference().optional().openapi({ description: 'The tag to give it. Default `docker.io/library/<name>:latest`.' }),
  })
  .openapi('BuildRequest');

export const importQuerySchema = z.object({
  reference: reference().optional().openapi({
    description: "The name of the archive's only image; needed when the archive does not name it fully (an OCI layout with a bare tag, or none).",
  }),
});

export const deleteQuerySchema = z.object({
  force: z.enum(['true', 'false']).optional().openapi({ description: '`true`: remove even while jobs of the image are queued or running.' }),
});

export const operationIdParamSchema = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: 'id', in: 'path' }, example: '0b7c3f5e-6d1a-4a51-9d59-8c2f0d0f2a11' }),
});

const layerSchema = z
  .object({
    digest: z.string().openapi({ description: 'Blob digest, as the registry serves it.' }),
    diffId: z.string().openapi({ description: 'sha256 of the uncompressed layer tar.' }),
    size: z.number().int().min(0).openapi({ description: 'Blob bytes (compressed, as the registry serves it).' }),
    unpackedSize: z.number().int().min(0).nullable().openapi({ description: 'Bytes of the uncompressed layer tar; null for images recorded by an older version.' }),
    mediaType: z.string(),
  })
  .openapi('ImageLayer');

export const imageSummarySchema = z
  .object({
    reference: z.string().openapi({ description: 'Normalized reference.', example: 'docker.io/library/busybox:latest' }),
    repository: z.string().openapi({ example: 'docker.io/library/busybox' }),
    tag: z.string().nullable().openapi({ example: 'latest' }),
    digest: z.string().openapi({ description: 'Manifest digest.' }),
    unpackedBytes: z.number().int().min(0).openapi({
      description: 'Its size, as `warmbox images` (and `docker images`) shows it: the bytes of its layers uncompressed, all layers together. What WARMBOX_IMAGE_MAX_UNPACKED_BYTES bounds.',
    }),
    compressedBytes: z.number().int().min(0).nullable().openapi({
      description: 'Bytes of its blobs as stored (config and layers, compressed as the registry serves them): what a pull downloads. null for images recorded by an older version.',
    }),
    createdAt: timestamp().openapi({ description: "The image's creation time (its config's `created`)." }),
  })
  .openapi('ImageSummary');

export const imageViewSchema = imageSummarySchema
  .extend({
    config: z.object({
      Entrypoint: z.array(z.string()),
      Cmd: z.array(z.string()),
      Env: z.array(z.string()),
      WorkingDir: z.string(),
      User: z.string(),
    }),
    layers: z.array(layerSchema).openapi({ description: 'Bottom-most first.' }),
    os: z.string().nullable(),
    architecture: z.string().nullable(),
  })
  .openapi('Image');

export const imageListSchema = z.object({ images: z.array(imageSummarySchema) }).openapi('ImageList');

export const importResultSchema = z.object({ images: z.array(imageViewSchema) }).openapi('ImportResult');

export const operationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['pull', 'import', 'remove', 'build', 'gc']),
    subject: z.string().openapi({ description: 'The reference (or recipe) it is about.' }),
    state: z.enum(['queued', 'running', 'succeeded', 'failed']),
    createdAt: timestamp(),
    images: z.array(z.string()).optional().openapi({ description: 'When succeeded: the references it stored.' }),
    error: z
      .object({ code: z.string(), message: z.string(), field: z.string().optional().openapi({ description: 'The image document field at fault: `config.WorkingDir`.' }) })
      .optional()
      .openapi({ description: 'When failed.' }),
  })
  .openapi('ImageOperation');

/** One line of a streamed pull or build (application/x-ndjson). */
export const imageStreamLineSchema = z
  .union([
    z.object({ type: z.literal('status'), message: z.string() }),
    z.object({
      type: z.literal('progress'),
      layer: z.string().openapi({ description: "The layer's blob digest." }),
      status: z.enum(['waiting', 'downloading', 'verifying', 'extracting', 'exists', 'done']),
      doneBytes: z.number().int(),
      totalBytes: z.number().int(),
    }),
    z.object({ type: z.literal('log'), line: z.string().openapi({ description: 'A line of the build.' }) }),
    z.object({ type: z.literal('image'), image: imageViewSchema }),
    z.object({
      type: z.literal('error'),
      error: z
        .object({ code: z.string(), message: z.string(), status: z.number().int().openapi({ description: 'The status the operation would have answered with.' }) })
        .loose()
        .openapi({ description: 'As a JSON error body, with its details (`field`, `bound`, …), and the status.' }),
    }),
  ])
  .openapi('ImageStreamLine');
