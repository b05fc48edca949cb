/**
 * The blobs workers on other hosts fetch and hand on (README "Workers on many hosts"): no host
 * shares its disk, so what one process stores and another needs travels here, by digest.
 *
 *   GET  /internal/v1/blobs/{digest}   the bytes of any blob in this API's store (HEAD: whether it is there)
 *   PUT  /internal/v1/blobs/{digest}   store bytes that must hash to the digest: 201, or 200 when held already
 *
 * What crosses: jobs' stdin and files (uploaded by tenants through /v1/blobs), imported archives
 * (POST /v1/images/import stores them here), and the blobs of images a worker made (a judge
 * build's layer, a recipe build) that a worker elsewhere lacks. Not a tenant's route: it takes the
 * workers' shared secret (WARMBOX_WORKER_TOKEN) instead of an API key, and answers 401 to
 * everything when the API has none. A fetching worker verifies every byte against the digest.
 * An API process that lacks a blob asks its peers first (api/peer-blobs.ts).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { BlobStoreError } from '../../blobs/blob-store-error.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import { ApiError } from '../errors.js';
import { FROM_PEER_HEADER, type PeerBlobs } from '../peer-blobs.js';
import { blobParamsSchema, blobViewSchema } from '../schemas/blob.js';
import { errorResponse } from '../schemas/error.js';

export const INTERNAL_BLOBS_PATH = '/internal/v1/blobs';
/** The scheme of the internal routes in the OpenAPI document (api/openapi.ts). */
export const WORKER_TOKEN_SCHEME = 'workerToken';

export interface InternalBlobsConfig {
  store: BlobStore;
  /** WARMBOX_WORKER_TOKEN; absent: every internal request is refused. */
  workerToken?: string;
  /** Largest blob a worker may store (an image's blob: WARMBOX_IMPORT_MAX_BYTES). */
  maxBytes: number;
  /** The other API processes, asked for a blob this one lacks; absent: none are. */
  peers?: PeerBlobs;
}

const unauthorized = errorResponse('No worker token, or not this API\'s WARMBOX_WORKER_TOKEN (unauthorized); or this API has none set.');

export function registerInternalBlobs(app: OpenAPIHono, blobs: InternalBlobsConfig): void {
  registerFetch(app, blobs);
  registerStore(app, blobs);
}

function registerFetch(app: OpenAPIHono, blobs: InternalBlobsConfig): void {
  const route = createRoute({
    method: 'get',
    path: `${INTERNAL_BLOBS_PATH}/{digest}`,
    operationId: 'fetchInternalBlob',
    tags: ['internal'],
    summary: "A blob of the API's store, for a worker on another host (HEAD: whether it is there)",
    request: { params: blobParamsSchema },
    responses: {
      200: { description: 'The bytes; `Content-Length` is the size.', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      400: errorResponse('The digest is not sha256: and 64 lower-case hex digits (invalid_request).'),
      401: unauthorized,
      404: errorResponse('The store holds no such blob (blob_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    checkToken(c, blobs.workerToken);
    const { digest } = c.req.valid('param');
    if (blobs.peers !== undefined && c.req.header(FROM_PEER_HEADER) === undefined) await blobs.peers.ensure(digest);
    const size = await blobs.store.sizeOf(digest);
    if (size === undefined) throw new ApiError(404, 'blob_not_found', `this API's store holds no blob ${digest}`, { digest });
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size), etag: `"${digest}"` };
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers }) as never;
    return new Response(Readable.toWeb(blobs.store.open(digest)) as ReadableStream<Uint8Array>, { status: 200, headers }) as never;
  });
}

function registerStore(app: OpenAPIHono, blobs: InternalBlobsConfig): void {
  const route = createRoute({
    method: 'put',
    path: `${INTERNAL_BLOBS_PATH}/{digest}`,
    operationId: 'storeInternalBlob',
    tags: ['internal'],
    summary: "Hands a blob a worker made (an image's layer) to the API's store, for workers on other hosts",
    request: { params: blobParamsSchema, body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } } },
    responses: {
      200: { description: 'Held already; the body was not read.', content: { 'application/json': { schema: blobViewSchema } } },
      201: { description: 'Stored.', content: { 'application/json': { schema: blobViewSchema } } },
      400: errorResponse('The digest is malformed (invalid_request), or the upload broke off (upload_failed).'),
      401: unauthorized,
      413: errorResponse('The blob is larger than WARMBOX_IMPORT_MAX_BYTES (payload_too_large).'),
      422: errorResponse('The bytes do not hash to the digest (digest_mismatch): nothing was kept.'),
    },
  });
  app.openapi(route, async (c) => {
    checkToken(c, blobs.workerToken);
    const { digest } = c.req.valid('param');
    const held = await blobs.store.sizeOf(digest);
    if (held !== undefined) {
      await c.req.raw.body?.cancel();
      return c.json({ digest, size: held }, 200);
    }
    const body = c.req.raw.body;
    const source = body === null ? Readable.from([]) : Readable.fromWeb(body as WebReadableStream<Uint8Array>);
    try {
      return c.json(await blobs.store.put(source, { maxBytes: blobs.maxBytes, expected: digest }), 201);
    } catch (err) {
      throw storeError(err, blobs.maxBytes);
    }
  });
}

function storeError(err: unknown, maxBytes: number): unknown {
  if (err instanceof BlobStoreError && err.failure === 'too_large') {
    return new ApiError(413, 'payload_too_large', `the blob is larger than the maximum ${maxBytes} bytes (WARMBOX_IMPORT_MAX_BYTES)`, { maximum: maxBytes }, { Connection: 'close' });
  }
  if (err instanceof BlobStoreError) return new ApiError(422, 'digest_mismatch', err.message, { field: 'digest', actual: err.detail.actual });
  if ((err as NodeJS.ErrnoException).syscall !== undefined) return err;
  return new ApiError(400, 'upload_failed', 'the upload broke off before the whole body arrived', {}, {}, err);
}

/** The worker token, compared in constant time (as hashes: equal lengths whatever was sent). */
function checkToken(c: Context, expected: string | undefined): void {
  const m = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '');
  const sent = m?.[1];
  if (expected === undefined || sent === undefined || !timingSafeEqual(sha256(sent), sha256(expected))) {
    throw new ApiError(401, 'unauthorized', expected === undefined ? 'this API serves no internal route: WARMBOX_WORKER_TOKEN is not set' : 'the worker token is not valid', {}, {
      'WWW-Authenticate': 'Bearer realm="warmbox-internal"',
    });
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
