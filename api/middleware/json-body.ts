/**
 * Parses a JSON body before validation so that malformed JSON is a 400 `invalid_json` of ours
 * (hono caches the parsed body; the validator reuses it). Other media types are left to the
 * route's media-type check (415).
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

export const parseJsonBody: MiddlewareHandler = async function parseJsonBody(c, next) {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
  if (JSON_MEDIA_TYPE.test(mediaType)) {
    try {
      await c.req.json();
    } catch (err) {
      const reason = err instanceof SyntaxError ? `: ${err.message}` : '';
      throw new ApiError(400, 'invalid_json', `request body is not valid JSON${reason}`);
    }
  }
  await next();
};
