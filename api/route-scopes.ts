/**
 * The scope each route needs (contract/api-key.ts), in one place: the auth middleware reads it at
 * each request, the OpenAPI document declares it on each operation, and a test checks that every
 * route is here. `public`: no key (probes, the document, and webhooks in, which triggers verify
 * with their own secret). `internal`: no API key but the workers' shared secret, checked by the
 * route itself (api/routes/internal-blobs.ts): what workers on other hosts fetch and hand on.
 */
import type { Scope } from '../contract/api-key.js';

export type RouteAccess = Scope | 'public' | 'internal';

export const ROUTE_SCOPES: Readonly<Record<string, RouteAccess>> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /openapi.json': 'public',
  'POST /v1/hooks/{trigger}': 'public',

  'POST /v1/jobs': 'jobs:submit',
  'POST /v1/jobs/batch': 'jobs:submit',
  'POST /v1/jobs/{id}/cancel': 'jobs:submit',
  'POST /v1/triggers': 'jobs:submit',
  'PATCH /v1/triggers/{id}': 'jobs:submit',
  'DELETE /v1/triggers/{id}': 'jobs:submit',
  'POST /v1/judge': 'jobs:submit',
  // The Judge0 and Piston drop-ins (api/dropin/).
  'POST /submissions': 'jobs:submit',
  'POST /submissions/batch': 'jobs:submit',
  'POST /api/v2/execute': 'jobs:submit',
  // Test data is uploaded for the jobs that read it.
  'POST /v1/blobs': 'jobs:submit',
  'PUT /v1/blobs/{digest}': 'jobs:submit',
  'DELETE /v1/blobs/{digest}': 'jobs:submit',

  'GET /v1/jobs': 'jobs:read',
  'GET /v1/jobs/{id}': 'jobs:read',
  'GET /v1/jobs/{id}/events': 'jobs:read',
  'GET /v1/jobs/{id}/deliveries': 'jobs:read',
  'GET /v1/triggers': 'jobs:read',
  'GET /v1/triggers/{id}': 'jobs:read',
  'GET /v1/blobs/{digest}': 'jobs:read',
  'GET /v1/judge/{id}': 'jobs:read',
  'GET /v1/judge/{id}/events': 'jobs:read',
  'GET /v1/judge/{id}/deliveries': 'jobs:read',
  'GET /v1/languages': 'jobs:read',
  'GET /submissions/{token}': 'jobs:read',
  'GET /submissions/batch': 'jobs:read',
  'GET /languages': 'jobs:read',
  'GET /languages/{id}': 'jobs:read',
  'GET /statuses': 'jobs:read',
  'GET /api/v2/runtimes': 'jobs:read',
  'HEAD /v1/blobs/{digest}': 'jobs:read',
  // What a client needs to know to submit: the queue's depth and the images it can run.
  'GET /v1/queue': 'jobs:read',
  'GET /v1/images': 'jobs:read',
  'GET /v1/images/{reference}': 'jobs:read',

  'POST /v1/images/pull': 'images:manage',
  'POST /v1/images/import': 'images:manage',
  'POST /v1/images/build': 'images:manage',
  'DELETE /v1/images/{reference}': 'images:manage',
  'GET /v1/images/operations/{id}': 'images:manage',
  'GET /v1/pools': 'images:manage',
  'PUT /v1/pools/{image}': 'images:manage',
  'GET /v1/system/df': 'images:manage',

  'GET /v1/system/status': 'admin',
  // On the API's port; WARMBOX_METRICS_LISTEN serves it without a key on a listener of its own.
  'GET /metrics': 'admin',
  'POST /v1/keys': 'admin',
  'GET /v1/keys': 'admin',
  'DELETE /v1/keys/{id}': 'admin',
  'POST /v1/tenants': 'admin',
  'GET /v1/tenants': 'admin',
  'DELETE /v1/tenants/{id}': 'admin',
  'PUT /v1/tenants/{id}/policy': 'admin',
  'GET /v1/tenants/{id}/policy': 'admin',

  'GET /internal/v1/blobs/{digest}': 'internal',
  'HEAD /internal/v1/blobs/{digest}': 'internal',
  'PUT /internal/v1/blobs/{digest}': 'internal',
};

/** `GET /v1/jobs/{id}` from hono's method and path template (`/v1/jobs/:id`, a param may carry a pattern). */
export function routeKey(method: string, honoPath: string): string {
  return `${method.toUpperCase()} ${honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}')}`;
}

/** undefined: a route this table does not know (a test makes sure there is none). */
export function accessOf(method: string, honoPath: string): RouteAccess | undefined {
  return ROUTE_SCOPES[routeKey(method, honoPath)];
}
