/**
 * The request body's size limit, answering with the API's 413 error.
 *
 * A body with a Content-Length (and no Transfer-Encoding) is judged by that header alone: Node's
 * HTTP parser delivers exactly that many bytes, never more. Only a chunked body is counted as it
 * streams, by hono's bodyLimit. The header check matters for speed: hono's bodyLimit first looks
 * at `c.req.raw.body`, which makes @hono/node-server build a full WHATWG Request (headers, a
 * ReadableStream over the socket) for every request, where the route's `c.req.json()` would
 * otherwise read the body straight from Node's IncomingMessage (a CPU profile at 50 jobs/s put
 * that Request's construction and stream reads at ~4% of the API process).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors.js';

/**
 * `exempt`: paths whose bodies are streamed under limits of their own, each exact or `PREFIX/*`
 * (everything under PREFIX). Matched here, once per request, rather than by hono's `except`, which
 * composes a fresh middleware chain for every request (~0.1 ms on each job submission).
 */
export function limitBodySize(maxBytes: number, exempt: readonly string[] = []): MiddlewareHandler {
  const isExempt = pathMatcher(exempt);
  const tooLarge = (): never => {
    throw new ApiError(413, 'payload_too_large', `request body is larger than the maximum ${maxBytes} bytes`, {
      maximum: maxBytes,
    });
  };
  const counted = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function limitBody(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || isExempt(c.req.path)) return next();
    const length = c.req.header('content-length');
    const declared = c.req.header('transfer-encoding') === undefined && length !== undefined && /^\d+$/.test(length);
    if (!declared) return counted(c, next);
    if (Number(length) > maxBytes) tooLarge();
    return next();
  };
}

function pathMatcher(patterns: readonly string[]): (path: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('/*')));
  const prefixes = patterns.filter((p) => p.endsWith('/*')).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
}
