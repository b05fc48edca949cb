/**
 * The one error type of the HTTP layer, and its mapping to `{ "error": { "code", "message", ... } }`.
 * Everything a handler throws ends here (app.onError); nothing else writes an error body.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { DbWriteError } from '../db/db-write-error.js';
import { refusalLoggedHere } from './middleware/job-refusal-log.js';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    /** Extra members of the error object (not code or message), e.g. `{ field: 'limits.memoryBytes', maximum: 4294967296 }`. */
    readonly details: Record<string, unknown> = {},
    /** Response headers the error carries, e.g. `Retry-After` on a 503. */
    readonly headers: Record<string, string> = {},
    /** What failed underneath (logged with the refusal, never sent). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

export function errorBody(err: ApiError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...err.details } };
}

/** Errors hono and its middleware raise themselves (e.g. 415 from the body's media type check). */
const HTTP_EXCEPTION_CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status] ?? 'http_error';
    return new ApiError(err.status, code, err.message || code.replaceAll('_', ' '));
  }
  if (err instanceof DbWriteError) return dbWriteApiError(err);
  return undefined;
}

/** What a client is told to wait before it retries a request the server could not take now (seconds). */
export const RETRY_LATER = { 'Retry-After': '1' };

/** Nothing was recorded: the client may retry (507 for a full disk, as WebDAV names it; 503 otherwise). */
function dbWriteApiError(err: DbWriteError): ApiError {
  return err.failure === 'disk_full'
    ? new ApiError(507, 'storage_full', 'the server\'s disk is full: nothing was recorded; retry later', {}, RETRY_LATER)
    : new ApiError(503, 'db_unavailable', 'the server\'s database cannot take writes: nothing was recorded; retry later', {}, RETRY_LATER);
}

/** app.onError: known errors as they are; anything else is logged and answered with a bare 500. */
export function errorHandler(logger: Logger) {
  return function onError(err: Error, c: Context): Response {
    const apiError = toApiError(err);
    if (refusalLoggedHere(c.req.raw)) return respond(c, apiError);
    if (err instanceof DbWriteError) logger.error({ err, method: c.req.method, path: c.req.path }, `db write failed: answered ${apiError?.status}`);
    if (apiError === undefined) logger.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error in request');
    return respond(c, apiError);
  };
}

/** A known error as it is; anything else a bare 500. */
function respond(c: Context, apiError: ApiError | undefined): Response {
  if (apiError !== undefined) return c.json(errorBody(apiError), apiError.status, apiError.headers);
  return c.json(errorBody(new ApiError(500, 'internal_error', 'internal server error')), 500);
}

export function notFoundHandler(c: Context): Response {
  return c.json(errorBody(new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)), 404);
}
