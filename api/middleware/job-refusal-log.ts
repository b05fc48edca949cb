/**
 * Logs each job submission the API refuses, once, with the code it answered (and what failed
 * underneath, for a 5xx) — never the request body, which may carry secrets. The error handler
 * leaves such requests to this line (errors.ts: `refusalLoggedHere`).
 */
import type { Context, Next } from 'hono';
import type { Logger } from 'pino';

const loggedHere = new WeakSet<Request>();

/** Whether the refusal of this request is logged by jobRefusalLog (so that it is logged once). */
export function refusalLoggedHere(req: Request): boolean {
  return loggedHere.has(req);
}

export function logJobRefusals(logger: Logger) {
  return async function jobRefusalLog(c: Context, next: Next): Promise<void> {
    loggedHere.add(c.req.raw);
    await next();
    const status = c.res.status;
    if (status < 400) return;
    const error = await errorOf(c.res);
    const fields = { status, code: error.code, message: error.message, ...(error.field !== undefined && { field: error.field }) };
    if (status >= 500) logger.error({ ...fields, err: c.error?.cause ?? c.error }, 'job refused');
    else logger.info(fields, 'job refused');
  };
}

async function errorOf(res: Response): Promise<{ code?: string; message?: string; field?: string }> {
  try {
    return ((await res.clone().json()) as { error?: { code?: string; message?: string; field?: string } }).error ?? {};
  } catch {
    return {};
  }
}
