/**
 * /v1/images: the images the service can run, and the operations that change them. The API never
 * touches the snapshot store: it reads the db's `images` table, and enqueues pulls, imports,
 * removals and builds for the workers (queue/image-queue.ts), whose progress it streams.
 *
 *   GET    /v1/images                     the images, from the db
 *   GET    /v1/images/{reference}         one, with its config and layers
 *   POST   /v1/images/pull                {reference}: progress as NDJSON, then the image
 *                                         (?wait=false: 202 with the operation)
 *   POST   /v1/images/import              a `docker save` or OCI layout tar as the body: 201 with
 *                                         the images it held
 *   POST   /v1/images/build               {name}: the build's log as NDJSON, then the image
 *   DELETE /v1/images/{reference}         untag and collect garbage: 204 (409 while jobs use it)
 *   GET    /v1/images/operations/{id}     an operation's state and outcome
 *
 * Streams are `application/x-ndjson`, one JSON object per line (imageStreamLineSchema), the last
 * one `image` or `error`. The response status waits for the operation's first progress: an
 * operation that fails before any (a missing repository, refused credentials) answers with its own
 * status and a JSON error instead; after that, a failure is the stream's last line.
 *
 * Imports: the body is streamed into this API's blob store (`<WARMBOX_DATA>/blobs`, verified and
 * named by its sha256), and the operation carries that digest: a worker reads it there when it
 * shares this host, or fetches it over HTTP (`/internal/v1/blobs/{digest}`) when it does not. The
 * archive stays while an image it made exists, so that a worker on another host that lacks the
 * image imports it again (contract/image-source.ts); then the blob collection takes it.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { countActiveJobsOfImage, findImage, imageRecordConfig, listImages } from '../../db/images.js';
import type { ImageRow } from '../../db/schema.js';
import { parseReference } from '../../contract/image-reference.js';
import type { RecipeName } from '../../contract/recipe-names.js';
import type { ImageOpData, ImageOpKind, ImageOpOutcome } from '../../contract/image-op.js';
import type { ImageOpEntry } from '../../queue/image-op-stream.js';
import { ImageOpIdleTimeout, type ImageOpStatus, type ImageQueue } from '../../queue/image-queue.js';
import type { AppDeps } from '../deps.js';
import { ApiError, errorBody } from '../errors.js';
import { imageOpApiError, pullTimeoutError } from '../image-errors.js';
import { normalizeOr400 } from '../image-pull-on-use.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { BlobStoreError } from '../../blobs/blob-store-error.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import {
  buildRequestSchema,
  deleteQuerySchema,
  imageListSchema,
  imageReferenceParamSchema,
  imageStreamLineSchema,
  imageViewSchema,
  importQuerySchema,
  importResultSchema,
  operationIdParamSchema,
  operationSchema,
  pullQuerySchema,
  pullRequestSchema,
} from '../schemas/image.js';

/** Exempt from the API's buffered body limit: archives are streamed to disk under their own limit. */
export const IMAGE_IMPORT_PATH = '/v1/images/import';

export const NDJSON = 'application/x-ndjson';
const ARCHIVE_MEDIA_TYPES = ['application/x-tar', 'application/octet-stream', 'application/gzip', 'application/x-gzip'];

type ImageView = z.infer<typeof imageViewSchema>;
type StreamLine = z.infer<typeof imageStreamLineSchema>;

export function registerImages(app: OpenAPIHono, deps: AppDeps): void {
  registerList(app, deps);
  registerGet(app, deps);
  const images = deps.images;
  if (images === undefined) return; // no workers to perform operations: the store is read-only here
  registerPull(app, deps, images);
  registerImport(app, deps, images);
  registerBuild(app, deps, images);
  registerDelete(app, deps, images);
  registerOperation(app, images);
}

function registerList(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/images',
    operationId: 'listImages',
    tags: ['images'],
    summary: 'The images jobs can run without a pull',
    responses: { 200: { description: 'Every image, by reference.', content: { 'application/json': { schema: imageListSchema } } } },
  });
  app.openapi(route, async (c) => c.json({ images: (await listImages(deps.db)).map(toImageSummary) }, 200));
}

function registerGet(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/images/{reference}',
    operationId: 'getImage',
    tags: ['images'],
    summary: 'One image: its digest, config and layers',
    request: { params: imageReferenceParamSchema },
    responses: {
      200: { description: 'The image.', content: { 'application/json': { schema: imageViewSchema } } },
      400: errorResponse('A malformed reference.'),
      404: errorResponse('No such image (image_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const requested = c.req.valid('param').reference;
    return c.json(toImageView(await findImageOr404(deps, requested, normalizeOr400(requested, 'reference'))), 200);
  });
}

function registerPull(app: OpenAPIHono, deps: AppDeps, images: ImageQueue): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/images/pull',
    operationId: 'pullImage',
    tags: ['images'],
    summary: 'Pull an image from its registry (like docker pull)',
    description:
      'Streams the pull as NDJSON: `status` lines, `progress` per layer (waiting, downloading with bytes, verifying, extracting, ' +
      'exists, done), then `image` with the stored image, or `error`. An error before any progress answers with its status instead ' +
      '(404 for a missing repository or refused credentials). Concurrent pulls of one reference share one operation. ' +
      'With `wait=false`: 202 with the operation (follow it with GET /v1/images/operations/{id}).',
    middleware: [parseJsonBody] as const,
    request: { query: pullQuerySchema, body: { required: true, content: { 'application/json': { schema: pullRequestSchema } } } },
    responses: {
      200: { description: 'The pull, as it happens.', content: { [NDJSON]: { schema: imageStreamLineSchema } } },
      202: { description: 'With wait=false: queued.', content: { 'application/json': { schema: operationSchema } } },
      400: errorResponse('A malformed reference.'),
      404: errorResponse('The registry has no such image, or refuses it without credentials (image_not_found).'),
      422: errorResponse(
        'An image warmbox cannot run (image_unsupported: broken or unsafe layers, a config whose `field` no job can use such as ' +
          'config.WorkingDir), or one that unpacks past the server\'s bounds (image_too_large, naming the `bound`). After progress ' +
          'began, the same error is the stream\'s last line.',
      ),
      502: errorResponse('The registry answered something unusable (registry_error).'),
      503: errorResponse('The registry cannot be reached (registry_unreachable) or limits pulls (registry_rate_limited); the queue is unavailable; or the pull showed no progress within the server\'s timeout (pull_timeout).'),
    },
  });
  app.openapi(route, async (c) => {
    const requested = c.req.valid('json').reference;
    const reference = normalizeOr400(requested, 'reference');
    const op = await enqueueOr503(deps, images, { kind: 'pull', reference });
    // Responses built outside c.json (a stream, a 202 of either shape) are not typed by the route.
    if (c.req.valid('query').wait === 'false') return (await acceptedOperation(c, images, op.id)) as never;
    return (await streamOperation(c, deps, images, op.id, 'pull', requested, reference)) as never;
  });
}

function registerBuild(app: OpenAPIHono, deps: AppDeps, images: ImageQueue): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/images/build',
    operationId: 'buildImage',
    tags: ['images'],
    summary: 'Build a language image from its recipe (python, gcc, node)',
    description:
      "Runs the recipe of infra/images/<name>/ on a worker (debootstrap from the host's Debian mirror; minutes) and streams its log " +
      'as NDJSON `log` lines, then `image`, or `error`. The image is bounded as pulls and imports are (WARMBOX_IMAGE_MAX_UNPACKED_BYTES, ' +
      'WARMBOX_IMAGE_MAX_ENTRIES).',
    middleware: [parseJsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: buildRequestSchema } } } },
    responses: {
      200: { description: 'The build, as it happens.', content: { [NDJSON]: { schema: imageStreamLineSchema } } },
      400: errorResponse('An unknown recipe or a malformed reference.'),
      422: errorResponse('A reference longer than the maximum (above_maximum); or the built image unpacks past the server\'s bounds (image_too_large, naming the `bound`).'),
      503: errorResponse('The queue is unavailable, or no worker took the build within the server\'s timeout.'),
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const name = body.name as RecipeName;
    const requested = body.reference ?? `docker.io/library/${name}:latest`;
    const reference = normalizeOr400(requested, 'reference');
    const op = await enqueueOr503(deps, images, { kind: 'build', recipe: name, reference });
    return (await streamOperation(c, deps, images, op.id, 'build', requested, reference)) as never;
  });
}

function registerImport(app: OpenAPIHono, deps: AppDeps, images: ImageQueue): void {
  const route = createRoute({
    method: 'post',
    path: IMAGE_IMPORT_PATH,
    operationId: 'importImages',
    tags: ['images'],
    summary: 'Import images from an archive (like docker load)',
    description:
      'The body is a `docker save` tar or an OCI image layout tar (gzip-compressed or not), streamed, up to the server\'s ' +
      'WARMBOX_IMPORT_MAX_BYTES. Every blob is verified. Images are named by the archive (RepoTags, or the OCI ref.name ' +
      'annotation); `reference` names an archive\'s only image. Each image (and the archive, decompressed) is bounded while it ' +
      'unpacks: WARMBOX_IMAGE_MAX_UNPACKED_BYTES (16 GiB) and WARMBOX_IMAGE_MAX_ENTRIES (2 million) by default. An image whose ' +
      'WorkingDir no job can use is refused. A refused archive leaves nothing in the store.',
    request: {
      query: importQuerySchema,
      body: { required: true, content: Object.fromEntries(ARCHIVE_MEDIA_TYPES.map((t) => [t, { schema: z.string().openapi({ format: 'binary' }) }])) },
    },
    responses: {
      201: { description: 'The images the archive held, as stored.', content: { 'application/json': { schema: importResultSchema } } },
      400: errorResponse('A malformed reference.'),
      413: errorResponse('The archive is larger than the server accepts.'),
      415: errorResponse('The body is not a tar (application/x-tar, application/gzip or application/octet-stream).'),
      422: errorResponse(
        'The archive is not an image archive or does not decompress (invalid_archive), lacks a blob, does not verify, needs `reference`; ' +
          'a layer is broken or unsafe (invalid_layer, unsafe_layer, digest_mismatch: the message names the layer by its place and digest); ' +
          'an image config no job can use (invalid_config, with `field`: config.WorkingDir); or an image unpacks past the server\'s ' +
          'bounds (image_too_large, with `bound`: WARMBOX_IMAGE_MAX_UNPACKED_BYTES or WARMBOX_IMAGE_MAX_ENTRIES).',
      ),
      503: errorResponse('The queue is unavailable, or the import outlasted the server\'s timeout.'),
      507: errorResponse("The server's disk is full (storage_full): the archive was not stored; retry later."),
    },
  });
  app.openapi(route, async (c) => {
    const requested = c.req.valid('query').reference;
    const reference = requested === undefined ? undefined : normalizeOr400(requested, 'reference');
    // An archive that is not enqueued (or whose import fails) is named by no image: the blob collection takes it.
    const archive = await receiveArchive(c, images, deps.blobs?.store);
    const op = await enqueueOr503(deps, images, { kind: 'import', archive, ...(reference !== undefined && { reference }) });
    const outcome = await images.waitForOutcome(op.id, images.pullTimeoutMs, c.req.raw.signal);
    if (outcome === undefined) throw pullTimeoutError(requested ?? 'archive', reference ?? '', images.pullTimeoutMs);
    if (!outcome.ok) throw imageOpApiError('import', outcome.error, requested ?? 'archive', reference ?? '');
    return c.json({ images: await Promise.all(outcome.references.map(async (r) => toImageView(await findImageOr404(deps, r, r)))) }, 201);
  });
}

function registerDelete(app: OpenAPIHono, deps: AppDeps, images: ImageQueue): void {
  const route = createRoute({
    method: 'delete',
    path: '/v1/images/{reference}',
    operationId: 'removeImage',
    tags: ['images'],
    summary: 'Remove an image (like docker rmi)',
    description:
      'Untags the reference and collects what no other image uses (layers shared with other images stay). Refused with 409 ' +
      'while jobs of the image are queued or running, unless `force=true`. Layers that running sandboxes still mount are ' +
      'freed once those end. Each worker host has its own store: the removal happens on the one that takes it.',
    request: { params: imageReferenceParamSchema, query: deleteQuerySchema },
    responses: {
      204: { description: 'Removed.' },
      400: errorResponse('A malformed reference.'),
      404: errorResponse('No such image (image_not_found).'),
      409: errorResponse('Jobs of the image are queued or running (image_in_use).'),
      503: errorResponse('The queue is unavailable, or the removal outlasted the server\'s timeout.'),
    },
  });
  app.openapi(route, async (c) => {
    const requested = c.req.valid('param').reference;
    const reference = normalizeOr400(requested, 'reference');
    const force = c.req.valid('query').force === 'true';
    await findImageOr404(deps, requested, reference);
    const active = await countActiveJobsOfImage(deps.db, reference);
    if (active > 0 && !force) {
      throw new ApiError(409, 'image_in_use', `image ${reference} is used by ${active} queued or running job(s); wait for them, or remove it with force=true`, {
        image: reference,
        jobs: active,
      });
    }
    const op = await enqueueOr503(deps, images, { kind: 'remove', reference, ...(force && { force }) });
    const outcome = await images.waitForOutcome(op.id, images.pullTimeoutMs, c.req.raw.signal);
    if (outcome === undefined) throw new ApiError(503, 'operation_timeout', `the removal of ${reference} is still going after ${images.pullTimeoutMs} ms; it goes on`);
    if (!outcome.ok) throw imageOpApiError('remove', outcome.error, requested, reference);
    return c.body(null, 204);
  });
}

function registerOperation(app: OpenAPIHono, images: ImageQueue): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/images/operations/{id}',
    operationId: 'getImageOperation',
    tags: ['images'],
    summary: 'An image operation: its state and, once ended, its outcome',
    request: { params: operationIdParamSchema },
    responses: {
      200: { description: 'The operation (kept an hour after it ends).', content: { 'application/json': { schema: operationSchema } } },
      404: errorResponse('No such operation, or it expired (operation_not_found).'),
      422: errorResponse('An id longer than any operation has (above_maximum).'),
    },
  });
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const status = await images.status(id);
    if (status === undefined) throw new ApiError(404, 'operation_not_found', `image operation ${JSON.stringify(id)} not found`);
    return c.json(toOperationView(status), 200);
  });
}

// ---- views ----

export function toImageSummary(row: ImageRow): z.infer<typeof imageListSchema>['images'][number] {
  const ref = safeParse(row.reference);
  return {
    reference: row.reference,
    repository: ref ? `${ref.registry}/${ref.repository}` : row.reference,
    tag: ref?.tag ?? null,
    digest: row.digest,
    unpackedBytes: row.sizeBytes,
    compressedBytes: imageRecordConfig(row).compressedBytes ?? null,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export function toImageView(row: ImageRow): ImageView {
  const config = imageRecordConfig(row);
  return {
    ...toImageSummary(row),
    config: { Entrypoint: config.entrypoint, Cmd: config.cmd, Env: config.env, WorkingDir: config.workingDir, User: config.user },
    layers: (config.layers ?? []).map((l) => ({ ...l, unpackedSize: l.unpackedSize ?? null })),
    os: config.os ?? null,
    architecture: config.architecture ?? null,
  };
}

function toOperationView(status: ImageOpStatus): z.infer<typeof operationSchema> {
  const outcome = status.outcome;
  return {
    id: status.id,
    kind: status.kind,
    subject: status.subject,
    state: status.state,
    createdAt: new Date(status.createdAt).toISOString(),
    ...(outcome?.ok === true && { images: outcome.references }),
    ...(outcome?.ok === false && { error: outcome.error }),
  };
}

function safeParse(reference: string): ReturnType<typeof parseReference> | undefined {
  try {
    return parseReference(reference);
  } catch {
    return undefined;
  }
}

async function findImageOr404(deps: AppDeps, requested: string, reference: string): Promise<ImageRow> {
  const row = await findImage(deps.db, reference);
  if (row === undefined) throw new ApiError(404, 'image_not_found', `No such image: ${requested} (${reference})`, { image: reference });
  return row;
}

// ---- operations ----

async function enqueueOr503(deps: AppDeps, images: ImageQueue, data: ImageOpData): Promise<{ id: string }> {
  try {
    return await images.enqueue(data);
  } catch (err) {
    deps.logger.error({ err, op: data }, 'enqueueing an image operation failed: is Redis reachable?');
    throw new ApiError(503, 'queue_unavailable', 'the image queue is unavailable; retry later');
  }
}

async function acceptedOperation(c: Context, images: ImageQueue, id: string): Promise<Response> {
  const status = await images.status(id);
  c.header('Location', `/v1/images/operations/${encodeURIComponent(id)}`);
  if (status === undefined) return c.json({ id, kind: 'pull', subject: '', state: 'queued', createdAt: new Date().toISOString() }, 202);
  return c.json(toOperationView(status), 202);
}

/**
 * Answers with the operation's events as NDJSON, once it has shown progress; an operation that
 * ends in failure before that answers with its error status instead.
 */
async function streamOperation(c: Context, deps: AppDeps, images: ImageQueue, opId: string, kind: ImageOpKind, requested: string, reference: string): Promise<Response> {
  const clientGone = new AbortController();
  c.req.raw.signal.addEventListener('abort', () => clientGone.abort(), { once: true });
  const events = images.events(opId, { signal: clientGone.signal, idleTimeoutMs: images.pullTimeoutMs });
  const held: ImageOpEntry[] = [];
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) return c.body(null, 204); // the client went away
      held.push(next.value);
      if (next.value.type !== 'queued' && next.value.type !== 'status') break;
    }
  } catch (err) {
    await events.return(undefined);
    if (err instanceof ImageOpIdleTimeout) throw pullTimeoutError(requested, reference, images.pullTimeoutMs);
    throw err;
  }
  const last = held.at(-1);
  if (last?.type === 'end' && !last.outcome.ok) throw imageOpApiError(kind, last.outcome.error, requested, reference);

  c.header('Content-Type', NDJSON);
  c.header('Cache-Control', 'no-store');
  return stream(c, async (out) => {
    out.onAbort(() => clientGone.abort());
    const write = (line: StreamLine): Promise<unknown> => out.write(`${JSON.stringify(line)}\n`);
    try {
      let ended = false;
      for (const entry of held) ended = await writeEntry(entry);
      while (!ended) {
        const next = await events.next();
        if (next.done) break;
        ended = await writeEntry(next.value);
      }
    } catch (err) {
      const apiError = err instanceof ImageOpIdleTimeout ? pullTimeoutError(requested, reference, images.pullTimeoutMs) : undefined;
      if (!apiError) deps.logger.error({ err, opId }, 'image operation stream failed');
      const body = errorBody(apiError ?? new ApiError(500, 'internal_error', 'the operation stream failed; its outcome: GET /v1/images/operations/' + opId));
      await write({ type: 'error', error: { code: body.error.code, message: body.error.message, status: apiError?.status ?? 500 } });
    } finally {
      await events.return(undefined);
    }

    async function writeEntry(entry: ImageOpEntry): Promise<boolean> {
      switch (entry.type) {
        case 'queued':
          return false;
        case 'status':
          await write({ type: 'status', message: entry.message });
          return false;
        case 'log':
          await write({ type: 'log', line: entry.line });
          return false;
        case 'progress':
          await write({ type: 'progress', layer: entry.layer, status: entry.status, doneBytes: entry.doneBytes, totalBytes: entry.totalBytes });
          return false;
        case 'end':
          await write(await endLine(deps, entry.outcome, kind, requested, reference));
          return true;
      }
    }
  });
}

async function endLine(deps: AppDeps, outcome: ImageOpOutcome, kind: ImageOpKind, requested: string, reference: string): Promise<StreamLine> {
  if (!outcome.ok) {
    const err = imageOpApiError(kind, outcome.error, requested, reference);
    return { type: 'error', error: { ...errorBody(err).error, status: err.status } };
  }
  const row = await findImage(deps.db, outcome.references[0] ?? reference);
  if (row === undefined) return { type: 'error', error: { code: 'internal_error', message: `${reference} was stored but is not in the db`, status: 500 } };
  return { type: 'image', image: toImageView(row) };
}

// ---- uploads ----

/** Streams the request body into the blob store, within the import limit; returns its digest. */
async function receiveArchive(c: Context, images: ImageQueue, store: BlobStore | undefined): Promise<string> {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!ARCHIVE_MEDIA_TYPES.includes(mediaType)) {
    throw new ApiError(415, 'unsupported_media_type', `the body must be an image archive (${ARCHIVE_MEDIA_TYPES.join(', ')}), not ${mediaType || 'untyped'}`);
  }
  const max = images.importMaxBytes;
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > max) throw tooLarge(max);
  const body = c.req.raw.body;
  if (body === null) throw new ApiError(400, 'invalid_request', 'the body is empty: send the archive');
  if (store === undefined) throw new ApiError(503, 'unavailable', 'this API has no blob store to receive an archive into');
  let blob;
  try {
    blob = await store.put(Readable.fromWeb(body as WebReadableStream<Uint8Array>), { maxBytes: max });
  } catch (err) {
    if (err instanceof BlobStoreError) throw tooLarge(max);
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new ApiError(507, 'storage_full', "the server's disk is full: the archive was not stored; retry later");
    if ((err as NodeJS.ErrnoException).syscall !== undefined) throw err;
    throw new ApiError(400, 'upload_failed', `the archive upload broke off: ${(err as Error).message}`);
  }
  if (blob.size === 0) throw new ApiError(400, 'invalid_request', 'the body is empty: send the archive');
  return blob.digest;
}

function tooLarge(max: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the archive is larger than the maximum ${max} bytes (WARMBOX_IMPORT_MAX_BYTES)`, { maximum: max });
}
