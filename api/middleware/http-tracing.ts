/**
 * A SERVER span per HTTP request, named and attributed by the HTTP semantic conventions
 * (`POST /v1/jobs`: http.request.method, http.route, url.path, http.response.status_code, …), the
 * child of the caller's W3C `traceparent` when it sends one. The handler runs inside it, so the
 * enqueue's span (queue/job-trace.ts), and through the job's payload the worker's, join its trace.
 *
 * Installed only when tracing is on (createApp's `tracing`): off, requests pay nothing for it.
 * Scrapes and probes are not traced: they would bury the jobs' traces.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type TextMapGetter } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { TRACER_NAME } from '../../queue/job-trace.js';

const UNTRACED = new Set(['/metrics', '/healthz', '/readyz']);

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

export function traceRequests(): MiddlewareHandler {
  return async function traceRequests(c, next) {
    if (UNTRACED.has(c.req.path)) return next();
    const method = c.req.method;
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = trace.getTracer(TRACER_NAME).startSpan(method, { kind: SpanKind.SERVER, attributes: requestAttributes(c) }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routeOf(c);
      if (route !== undefined) {
        span.setAttribute(ATTR_HTTP_ROUTE, route);
        span.updateName(`${method} ${route}`);
      }
      const status = c.res.status;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // Server spans: only a 5xx is the server's error (4xx is the client's).
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}

function requestAttributes(c: Context): Attributes {
  const url = new URL(c.req.url);
  const userAgent = c.req.header('user-agent');
  return {
    [ATTR_HTTP_REQUEST_METHOD]: c.req.method,
    [ATTR_URL_PATH]: url.pathname,
    [ATTR_URL_SCHEME]: url.protocol.replace(/:$/, ''),
    [ATTR_SERVER_ADDRESS]: url.hostname,
    ...(url.port !== '' && { [ATTR_SERVER_PORT]: Number(url.port) }),
    ...(userAgent !== undefined && { [ATTR_USER_AGENT_ORIGINAL]: userAgent }),
  };
}

/** The template of the route that answered (`/v1/jobs/:id`), not the path: bounded, like the routes. */
function routeOf(c: Context): string | undefined {
  return matchedRoutes(c)
    .filter((r) => r.method !== 'ALL')
    .at(-1)?.path;
}
