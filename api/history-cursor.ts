/**
 * GET /v1/jobs's cursor: the last job of a page, (createdAt, id), as base64url JSON. Opaque to
 * clients (they pass back what they got); checked here so that a bad one is a 400, not a query.
 */
import type { HistoryCursor } from '../db/job-history.js';
import { ApiError } from './errors.js';
import { JOB_ID_PATTERN } from './job-id.js';

export function encodeCursor(c: HistoryCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

export function decodeCursor(text: string): HistoryCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string' && JOB_ID_PATTERN.test(value[1])) {
    return { createdAt: value[0] as number, id: value[1] };
  }
  throw new ApiError(400, 'invalid_request', 'cursor: not a cursor this server gave (pass back the `next` of a page)', { field: 'cursor', in: 'query' });
}
