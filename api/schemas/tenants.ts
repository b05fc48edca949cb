/** The bodies and answers of /v1/tenants (README "Tenants and keys"). */
import { z } from '@hono/zod-openapi';
import { TENANT_NAME_PATTERN } from '../../contract/tenant-id.js';

export const createTenantSchema = z
  .object({
    name: z
      .string()
      .regex(TENANT_NAME_PATTERN, 'must be 1 to 63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit')
      .openapi({ example: 'acme' }),
  })
  .openapi('CreateTenant');

export const tenantViewSchema = z
  .object({
    id: z.string().openapi({ example: 'ten_8d1e0b2c3a4f5e6d' }),
    name: z.string().openapi({ example: 'acme' }),
    policy: z.record(z.string(), z.unknown()).openapi({ description: 'What the tenant may ask of warmbox (rate, caps, images, network, retention); new tenants are unrestricted.' }),
    createdAt: z.iso.datetime().openapi({ example: '2026-12-01T12:00:00.000Z' }),
  })
  .openapi('Tenant');

export const tenantParams = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'The tenant\'s id or name.', example: 'ten_8d1e0b2c3a4f5e6d' }),
});
