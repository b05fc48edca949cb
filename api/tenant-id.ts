/**
 * The tenant a request acts for. Until the tenant foundation (api/middleware/tenant.ts) is on this
 * branch, every request is the built-in `local` tenant's.
 */
import type { Context } from 'hono';
import { LOCAL_TENANT } from './job-submission.js';

export function tenantIdOf(_c: Context): string {
  return LOCAL_TENANT;
}
