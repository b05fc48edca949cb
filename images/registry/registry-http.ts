/**
 * HTTP for the registry client, on Node's fetch (undici): redirects followed by hand so that the
 * Authorization header is never sent to another origin (blob downloads are redirected to object
 * storage with signed URLs, which a registry token must not reach, and which reject it anyway), network
 * failures and error answers turned into ImagePullErrors, bodies read with a limit.
 */
import { ImagePullError, type ImagePullErrorCode } from './image-pull-error.js';

const MAX_REDIRECTS = 10;
const ERROR_BODY_LIMIT = 64 * 1024;
export const USER_AGENT = 'warmbox';

export interface GetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** GET with redirects followed; the Authorization header goes only to the first URL's origin. */
export async function httpGet(url: string, opts: GetOptions = {}): Promise<Response> {
  let current = new URL(url);
  const origin = current.origin;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...opts.headers };
    if (current.origin !== origin) delete headers.authorization;
    let res: Response;
    try {
      res = await fetch(current, { headers, redirect: 'manual', signal: opts.signal ?? null });
    } catch (err) {
      throw networkError(err, current.href, opts.signal);
    }
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || location === null) return res;
    await discard(res);
    if (hop >= MAX_REDIRECTS) throw new ImagePullError('registry_error', `GET ${url}: more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new ImagePullError('registry_error', `GET ${current.href} redirects to ${next.protocol} URL, which is not http(s)`);
    }
    current = next;
  }
}

/** A fetch failure as an ImagePullError; an abort stays the signal's reason. */
export function networkError(err: unknown, url: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof ImagePullError) return err;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ImagePullError('registry_unreachable', `GET ${redact(url)} failed: ${detail}`, { cause: err });
}

/** An error answer as an ImagePullError, with the registry's own error codes and messages. */
export async function errorFromResponse(res: Response, what: string): Promise<ImagePullError> {
  const body = await readBodyLimited(res, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0));
  const detail = registryErrorDetail(body);
  const code: ImagePullErrorCode = res.status === 404 ? 'not_found'
    : res.status === 401 || res.status === 403 ? 'unauthorized'
    : res.status === 429 ? 'rate_limited'
    : 'registry_error';
  const hint = code === 'unauthorized'
    ? ' (the repository may not exist, or needs credentials: add them to the credentials file)'
    : code === 'rate_limited' ? ' (the registry limits pulls: authenticate, or use a mirror)' : '';
  return new ImagePullError(code, `${what}: ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}${hint}`, { status: res.status });
}

/** The body, failing when it exceeds limit bytes (manifests are small; a huge one is hostile). */
export async function readBodyLimited(res: Response, limit: number): Promise<Buffer> {
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (length > limit) {
    await discard(res);
    throw new ImagePullError('registry_error', `${res.url}: body of ${length} bytes is over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > limit) throw new ImagePullError('registry_error', `${res.url}: body is over the ${limit}-byte limit`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The body is unwanted; a failure to drop it changes nothing.
  }
}

/** The distribution spec's error body: { errors: [{ code, message, detail }] }. */
function registryErrorDetail(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const errors = (doc.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(' ')).filter(Boolean);
    if (errors.length > 0) return errors.join('; ');
  } catch {
    // Not JSON: show the start of the text instead.
  }
  return body.toString('utf8', 0, Math.min(body.length, 200)).replace(/\s+/g, ' ').trim();
}

/** A URL without its query (signed URLs carry credentials there). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return u.search ? `${u.origin}${u.pathname}?…` : u.href;
  } catch {
    return url;
  }
}
