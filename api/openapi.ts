/**
 * GET /openapi.json: the OpenAPI 3.1 document, generated from the zod schemas the routes validate
 * with. Each route declares the statuses its handler answers; the statuses of the parts every
 * route shares are added here, to each operation they apply to (test/api/openapi.test.ts provokes
 * them all and checks they are declared):
 *   500 internal_error          errors.ts, for anything unexpected: every operation
 *   400 invalid_json            middleware/json-body.ts: an operation with a JSON body
 *   400 invalid_request         the validators: a JSON body, query or header parameters
 *   413 payload_too_large       middleware/body-limit.ts: a body under the app's body limit
 *   415 unsupported_media_type  the JSON body's media type check
 *   401 unauthorized            middleware/auth.ts: every operation that takes a key (route-scopes.ts)
 *   403 forbidden               middleware/auth.ts: the same, when the key lacks the route's scope
 * Each operation's `security` names the scope its key needs (route-scopes.ts); public ones have none.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { ROUTE_SCOPES } from './route-scopes.js';
import { errorResponse } from './schemas/error.js';
import { WORKER_TOKEN_SCHEME } from './routes/internal-blobs.js';

export const OPENAPI_PATH = '/openapi.json';

/** The bearer scheme every operation that takes a key names in its `security`. */
export const SECURITY_SCHEME = 'apiKey';

type RouteConfig = Parameters<OpenAPIHono['openapi']>[0];

export interface SharedParts {
  /** Whether the app's body limit applies to a request to this path (a route template). */
  bodyLimited(path: string): boolean;
}

export function registerOpenApiDocument(app: OpenAPIHono, shared: SharedParts): void {
  app.openAPIRegistry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'wbx_<key id>_<secret>',
    description:
      'An API key (`warmbox keys create`, POST /v1/keys). Each operation names the scope it needs: jobs:submit, jobs:read, ' +
      'images:manage or admin (which grants every scope, for every tenant). A server without auth (loopback only) takes no key.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', WORKER_TOKEN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: "The workers' shared secret (WARMBOX_WORKER_TOKEN) that the internal routes take: workers on other hosts, not tenants.",
  });
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type === 'route') {
      declareSecurity(definition.route);
      declareSharedResponses(definition.route, shared);
    }
  }
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'warmbox',
      version: '1',
      description:
        'Run a command in a fresh, resource-limited sandbox of an OCI image. Errors are ' +
        '`{"error": {"code", "message", ...}}`; a value beyond a server bound is a 422, never clamped.',
    },
    tags: [
      { name: 'jobs', description: 'Running commands and reading their results.' },
      { name: 'images', description: 'The images jobs run, and the operations that change them.' },
      { name: 'blobs', description: 'Test data uploaded once, that jobs reference by digest as their stdin or files.' },
      { name: 'triggers', description: 'Jobs that webhooks start (webhooks in).' },
      { name: 'pools', description: "The workers' pools of warm sandboxes." },
      { name: 'service', description: 'The API process itself.' },
      { name: 'admin', description: 'Tenants and their API keys (admin keys only).' },
      { name: 'internal', description: 'What workers on other hosts fetch from the API and hand on to it (the workers\' token, not an API key).' },
    ],
  });
}

/** The scope from route-scopes.ts (a route missing there needs admin, as middleware/auth.ts has it). */
function declareSecurity(route: RouteConfig): void {
  const access = ROUTE_SCOPES[`${route.method.toUpperCase()} ${route.path}`] ?? 'admin';
  if (access === 'internal') {
    route.security = [{ [WORKER_TOKEN_SCHEME]: [] }];
    return;
  }
  route.security = access === 'public' ? [] : [{ [SECURITY_SCHEME]: [access] }];
  if (access === 'public') return;
  route.responses[401] ??= errorResponse('No API key, or one that is unknown, revoked or expired (unauthorized); the answer has `WWW-Authenticate: Bearer`.');
  route.responses[403] ??= errorResponse(`The API key lacks the scope ${access} (forbidden; error.scope names it).`);
}

/** Adds what the route does not declare itself (its own description of a status wins). */
function declareSharedResponses(route: RouteConfig, shared: SharedParts): void {
  const { body, query, headers } = route.request ?? {};
  const jsonBody = body !== undefined && 'application/json' in body.content;
  const statuses: Record<number, string> = {
    500: 'Something failed inside warmbox (internal_error); the server log has the details.',
  };
  if (jsonBody || query !== undefined || headers !== undefined) {
    statuses[400] = jsonBody
      ? 'Malformed JSON (invalid_json), or a value of the wrong shape (invalid_request; error.field names it).'
      : 'A parameter of the wrong shape (invalid_request; error.in and error.field name it).';
  }
  if (body !== undefined && shared.bodyLimited(route.path)) statuses[413] = 'The body is larger than the server accepts (payload_too_large).';
  if (jsonBody) statuses[415] = 'The body is not application/json (unsupported_media_type).';
  for (const [status, description] of Object.entries(statuses)) route.responses[status] ??= errorResponse(description);
}
