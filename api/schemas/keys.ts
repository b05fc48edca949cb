/** The bodies and answers of /v1/keys (README "Tenants and keys"). */
import { z } from '@hono/zod-openapi';
import { DEFAULT_KEY_SCOPES, SCOPES } from '../../contract/api-key.js';
import { REQUEST_BOUNDS as B } from '../request-bounds.js';

export const createKeySchema = z
  .object({
    tenant: z.string().min(1).max(64).optional().openapi({ description: "The tenant the key acts for (an id or a name); default the calling key's tenant." }),
    name: z.string().min(1).max(B.keyNameChars).optional().openapi({ description: 'What the key is for, to tell keys apart.', example: 'ci' }),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .max(SCOPES.length)
      .refine((s) => new Set(s).size === s.length, 'must not repeat a scope')
      .optional()
      .openapi({ description: `What the key may do; default ${DEFAULT_KEY_SCOPES.join(', ')}. \`admin\` grants every scope, for every tenant.`, example: ['jobs:submit', 'jobs:read'] }),
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(B.keyExpiresInSecondsMaximum)
      .optional()
      .openapi({ description: `The key is refused from this many seconds on (at most ${B.keyExpiresInSecondsMaximum}); default: never.` }),
  })
  .strict()
  .openapi('CreateKey');

const timestamp = () => z.iso.datetime().openapi({ example: '2026-12-01T12:00:00.000Z' });

export const keyViewSchema = z
  .object({
    id: z.string().openapi({ example: '3f9c2a7d1b8e4c60' }),
    tenantId: z.string().openapi({ example: 'ten_8d1e0b2c3a4f5e6d' }),
    name: z.string().nullable(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: timestamp(),
    lastUsedAt: timestamp().nullable().openapi({ description: 'Updated at most once a minute.' }),
    revokedAt: timestamp().nullable(),
    expiresAt: timestamp().nullable(),
  })
  .openapi('ApiKey', { description: 'An API key, without its secret.' });

export const createdKeySchema = keyViewSchema
  .extend({
    token: z.string().openapi({
      description: 'The bearer token: `Authorization: Bearer <token>`. Only this answer holds it; warmbox keeps a hash.',
      example: 'wbx_3f9c2a7d1b8e4c60_Q2hhbmdlIG1lOiB0aGlzIGlzIG5vdCBhIHJlYWwga2V5IQ',
    }),
  })
  .openapi('CreatedApiKey');

export type KeyView = z.infer<typeof keyViewSchema>;
