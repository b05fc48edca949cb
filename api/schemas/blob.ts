/** The answers of the /v1/blobs routes. */
import { z } from '@hono/zod-openapi';
import { blobDigestSchema } from './job-request.js';

export const blobViewSchema = z
  .object({
    digest: z.string().openapi({ description: 'sha256:<hex> of the bytes: how jobs reference the blob.', example: 'sha256:' + 'e3b0c442'.repeat(8) }),
    size: z.number().int().openapi({ description: 'Bytes.' }),
  })
  .openapi('Blob');

export const blobParamsSchema = z.object({
  digest: blobDigestSchema.openapi({ param: { name: 'digest', in: 'path' } }),
});
