/**
 * Test data uploaded once: a content-addressed blob store (blobs/blob-store.ts) that jobs reference
 * by digest as their stdin or files, so the bytes cross the network once, not with every job.
 *
 *   POST   /v1/blobs            the bytes as the body → 201 {digest, size}
 *   PUT    /v1/blobs/{digest}   the same, claiming the digest: verified (422 on a mismatch); 200 when held already
 *   HEAD   /v1/blobs/{digest}   200 with its Content-Length, or 404
 *   GET    /v1/blobs/{digest}   the bytes
 *   DELETE /v1/blobs/{digest}   the tenant's record goes; the bytes when nothing else holds them (api/blob-gc.ts)
 *
 * Bodies are streamed to disk under their own limit (WARMBOX_BLOB_MAX_BYTES), never buffered; the
 * bytes are stored once whoever uploads them, and a tenant sees only the blobs it uploaded (404
 * otherwise, the same as a blob nobody has).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { BlobStoreError } from '../../blobs/blob-store-error.js';
import type { BlobStore, StoredBlob } from '../../blobs/blob-store.js';
import { deleteBlob, findBlob, recordBlob } from '../../db/blobs.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { PeerBlobs } from '../peer-blobs.js';
import { blobParamsSchema, blobViewSchema } from '../schemas/blob.js';
import { errorResponse } from '../schemas/error.js';

export const BLOBS_PATH = '/v1/blobs';
/** Exempt from the API's buffered body limit: blobs are streamed to disk under their own. */
export const BLOB_UPLOAD_PATHS = [BLOBS_PATH, `${BLOBS_PATH}/*`];

export interface BlobRoutesConfig {
  store: BlobStore;
  /** Largest blob (WARMBOX_BLOB_MAX_BYTES): 413 above. */
  maxBytes: number;
  /** The other API processes, asked for a blob uploaded to one of them (api/peer-blobs.ts); absent: none are. */
  peers?: PeerBlobs;
}

const binaryBody = { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } };
const created = { description: 'Stored.', content: { 'application/json': { schema: blobViewSchema } } };
const notFound = errorResponse('You hold no such blob (blob_not_found): not uploaded by you, or deleted.');
const badDigest = errorResponse('The digest is not sha256: and 64 lower-case hex digits (invalid_request).');

export function registerBlobs(app: OpenAPIHono, deps: AppDeps, blobs: BlobRoutesConfig): void {
  registerUpload(app, deps, blobs);
  registerPut(app, deps, blobs);
  registerGet(app, deps, blobs);
  registerDelete(app, deps);
}

function registerUpload(app: OpenAPIHono, deps: AppDeps, blobs: BlobRoutesConfig): void {
  const route = createRoute({
    method: 'post',
    path: BLOBS_PATH,
    operationId: 'uploadBlob',
    tags: ['blobs'],
    summary: 'Upload a blob (test data a job references as its stdin or a file)',
    description:
      `The body is the bytes, any media type, streamed to disk up to the server's WARMBOX_BLOB_MAX_BYTES. The answer names the ` +
      'blob by the SHA-256 of its bytes; jobs reference it as `"stdin": {"blob": digest}` or a file\'s `"blob"`.',
    request: { body: binaryBody },
    responses: {
      201: created,
      400: errorResponse('The upload broke off (upload_failed).'),
      413: errorResponse('The blob is larger than the server accepts (payload_too_large, with `maximum`).'),
      507: errorResponse("The server's disk is full (storage_full): nothing was stored; retry later."),
    },
  });
  app.openapi(route, async (c) => c.json(await receive(c, deps, blobs), 201));
}

function registerPut(app: OpenAPIHono, deps: AppDeps, blobs: BlobRoutesConfig): void {
  const route = createRoute({
    method: 'put',
    path: `${BLOBS_PATH}/{digest}`,
    operationId: 'putBlob',
    tags: ['blobs'],
    summary: 'Upload a blob under the digest it must have',
    description:
      'Like POST /v1/blobs, but the bytes must hash to `digest` (else 422 digest_mismatch, and nothing is kept). Idempotent: when ' +
      'you hold the blob already the answer is 200 and the body is not read.',
    request: { params: blobParamsSchema, body: binaryBody },
    responses: {
      200: { description: 'You held it already.', content: { 'application/json': { schema: blobViewSchema } } },
      201: created,
      400: errorResponse('The digest is malformed (invalid_request), or the upload broke off (upload_failed).'),
      413: errorResponse('The blob is larger than the server accepts (payload_too_large, with `maximum`).'),
      422: errorResponse('The bytes do not hash to the digest (digest_mismatch, with `actual`).'),
      507: errorResponse("The server's disk is full (storage_full): nothing was stored; retry later."),
    },
  });
  app.openapi(route, async (c) => {
    const { digest } = c.req.valid('param');
    const held = await findBlob(deps.db, c.get('tenant').id, digest);
    if (held !== undefined && (await blobs.store.sizeOf(digest)) !== undefined) {
      await c.req.raw.body?.cancel();
      return c.json({ digest, size: held.size }, 200);
    }
    return c.json(await receive(c, deps, blobs, digest), 201);
  });
}

function registerGet(app: OpenAPIHono, deps: AppDeps, blobs: BlobRoutesConfig): void {
  const route = createRoute({
    method: 'get',
    path: `${BLOBS_PATH}/{digest}`,
    operationId: 'getBlob',
    tags: ['blobs'],
    summary: 'Download a blob (HEAD: whether you hold it, and its size)',
    request: { params: blobParamsSchema },
    responses: {
      200: { description: 'The bytes; `Content-Length` is the size.', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      400: badDigest,
      404: notFound,
    },
  });
  app.openapi(route, async (c) => {
    const { digest } = c.req.valid('param');
    const held = await findBlob(deps.db, c.get('tenant').id, digest);
    if (held !== undefined) await blobs.peers?.ensure(digest);
    const size = held && (await blobs.store.sizeOf(digest));
    if (size === undefined) throw blobNotFound(digest);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size), etag: `"${digest}"` };
    // HEAD is answered by this GET handler (hono drops the body): open nothing for it.
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers }) as never;
    const body = Readable.toWeb(blobs.store.open(digest)) as ReadableStream<Uint8Array>;
    return new Response(body, { status: 200, headers }) as never;
  });
}

function registerDelete(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'delete',
    path: `${BLOBS_PATH}/{digest}`,
    operationId: 'deleteBlob',
    tags: ['blobs'],
    summary: 'Delete your blob',
    description:
      'You no longer hold it: jobs you submit after cannot reference it. Jobs already queued or running that reference it keep ' +
      'it until they end; the bytes go once no tenant holds them and no unfinished job references them, after WARMBOX_BLOB_GC_AGE_MS.',
    request: { params: blobParamsSchema },
    responses: { 204: { description: 'Deleted.' }, 400: badDigest, 404: notFound },
  });
  app.openapi(route, async (c) => {
    const { digest } = c.req.valid('param');
    if (!await deleteBlob(deps.db, c.get('tenant').id, digest)) throw blobNotFound(digest);
    return c.body(null, 204);
  });
}

/**
 * How far past the limit a body is still read (and dropped) before the 413: a client that sends
 * a little too much gets its answer on a connection it can use again. Beyond it, the connection closes.
 */
const DISCARD_BYTES = 16 * 1024 * 1024;

/** Streams the body into the store, then records that the tenant holds it. */
async function receive(c: Context, deps: AppDeps, blobs: BlobRoutesConfig, expected?: string): Promise<StoredBlob> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > blobs.maxBytes + DISCARD_BYTES) throw tooLarge(blobs.maxBytes);
  const body = c.req.raw.body;
  const source = body === null ? Readable.from([]) : Readable.fromWeb(body as WebReadableStream<Uint8Array>);
  let blob: StoredBlob;
  try {
    blob = await blobs.store.put(source, { maxBytes: blobs.maxBytes, discardBytes: DISCARD_BYTES, ...(expected !== undefined && { expected }) });
  } catch (err) {
    throw uploadError(err, blobs.maxBytes);
  }
  await recordBlob(deps.db, { tenantId: c.get('tenant').id, digest: blob.digest, size: blob.size, createdAt: Date.now() });
  return blob;
}

function uploadError(err: unknown, maxBytes: number): unknown {
  if (err instanceof BlobStoreError && err.failure === 'too_large') return tooLarge(maxBytes);
  if (err instanceof BlobStoreError) return new ApiError(422, 'digest_mismatch', err.message, { field: 'digest', actual: err.detail.actual });
  if (err instanceof ApiError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new ApiError(507, 'storage_full', "the server's disk is full: the blob was not stored; retry later");
  // A failing file operation of the store is the server's (a bare 500, logged; its message holds a host path).
  if ((err as NodeJS.ErrnoException).syscall !== undefined) return err;
  return new ApiError(400, 'upload_failed', 'the upload broke off before the whole body arrived', {}, {}, err);
}

/** The rest of the body may be unread: the connection closes after the answer, so that no client reuses it mid-body. */
function tooLarge(max: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the blob is larger than the maximum ${max} bytes (WARMBOX_BLOB_MAX_BYTES)`, { maximum: max }, { Connection: 'close' });
}

function blobNotFound(digest: string): ApiError {
  return new ApiError(404, 'blob_not_found', `you hold no blob ${digest}`, { digest });
}
