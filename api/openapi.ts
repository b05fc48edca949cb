/** GET /openapi.json: the OpenAPI 3.1 document, generated from the zod schemas the routes validate with. */
import type { OpenAPIHono } from '@hono/zod-openapi';

export const OPENAPI_PATH = '/openapi.json';

export function registerOpenApiDocument(app: OpenAPIHono): void {
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
      { name: 'service', description: 'The API process itself.' },
    ],
  });
}
