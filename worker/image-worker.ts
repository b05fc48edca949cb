/**
 * What a worker does with an image operation (queue/image-op-consumer.ts hands them over): performs
 * pulls, imports, removals (with garbage collection) and recipe builds on this worker's snapshot
 * store, records what they produce in the db's `images` table, and writes each operation's events
 * and outcome to its Redis Stream (queue/image-op-stream.ts), where the API reads them. One operation:
 *
 *   1. `status` event: what is being done
 *   2. the runtime does it (ImagePuller, importImageArchive, SnapshotStore.remove + collectGarbage,
 *      buildRecipeImage), its progress and log lines going to the stream as they come
 *   3. the db follows: upsertImage for what was stored, deleteImage for what was removed
 *   4. `end` with the outcome, published on CHANNEL_IMAGE_OP_ENDED
 *
 * A failure is an outcome too (`ok: false` with the runtime's error code), never a failed BullMQ job:
 * the stream is the record. Operations are idempotent, so a worker that dies mid-way leaves its job
 * to be taken again (maxStalledCount 1).
 *
 * Removal and the pools: sandboxes of a removed image keep its layers mounted. Its parked sandboxes
 * are let go (the pool's bounds drop to 0, and come back if the same image is stored again), and
 * the collection keeps every layer an overlay still mounts (mounted-layers.ts); a collection is
 * then queued again (GC_RETRY_MS later) until nothing unreferenced is mounted any more.
 */
import type { ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import { countActiveJobsOfImage, deleteImage, findImage } from '../db/images.js';
import { importImageArchive, ImageImportError } from '../images/image-import.js';
import { ImagePuller, ImagePullError, type RegistryOptions } from '../images/image-pull.js';
import { buildRecipeImage, type BuildRecipeOptions } from '../images/image-recipes.js';
import { InvalidReferenceError } from '../contract/image-reference.js';
import { ImageStoreError, type SnapshotStore, type StoredImage } from '../images/image-store.js';
import type { PoolBounds } from '../contract/pools.js';
import type { SandboxPools } from '../runtime/sandbox-pools.js';
import type { ImageResolver } from './image-resolver.js';
import type { ImageOpData, ImageOpError, ImageOpEvent, ImageOpOutcome } from '../contract/image-op.js';
import { ImageOpFailure } from './image-op-error.js';
import { HostPathFilter } from './host-paths.js';
import { ImageOpConsumer } from '../queue/image-op-consumer.js';
import { appendImageOpEvent, endImageOp } from '../queue/image-op-stream.js';
import { publishImageRemoved, type ImageRemoved } from '../queue/image-removals.js';
import { recordImage } from './image-record.js';
import { mountedLayerDirs } from './mounted-layers.js';
import type { PullMetrics } from './pull-metrics.js';
import type { PullProgress } from '../contract/pull-progress.js';
import type { ImageSource } from '../contract/image-source.js';
import { imageBlobsOf } from '../images/image-transfer.js';
import type { BlobAccess } from './blob-access.js';
import { ImageObtainer } from './image-obtain.js';

export interface ImageWorkerOptions {
  /** Called after each operation that completed (the store may have changed). */
  onStoreChanged?: () => void;
  /** For BullMQ's own connections (a Worker blocks one). */
  connection: ConnectionOptions;
  /** For stream writes and publishes. */
  redis: Redis;
  store: SnapshotStore;
  db: WarmboxDb;
  registry: RegistryOptions;
  /** The JobRunner's resolver: told to forget references that were re-tagged or removed. */
  resolver?: ImageResolver;
  /** This worker's warm pools: parked sandboxes of a removed image are let go. */
  pools?: SandboxPools;
  /** GarbageCollectionOptions.minAgeMs (see server/image-config.ts). Default 0. */
  gcMinAgeMs?: number;
  /** Operations one worker performs at once. Default 4. */
  concurrency?: number;
  /** Where debootstrap keeps the .debs of recipe builds, for the next build. */
  debCacheDir?: string;
  /**
   * Directories of this host that messages to clients must not show (the data directory, the
   * installation); the store's root always. A path under one becomes `<server path>`.
   */
  hostPaths?: string[];
  /** Where pulls are counted; absent: nowhere. */
  pullMetrics?: PullMetrics;
  /**
   * The blobs that travel between hosts (worker/blob-access.ts): imported archives are read through
   * it, and the images this worker builds are handed on through it. Absent: imports fail.
   */
  blobs?: BlobAccess;
  log: Logger;
}

/** What perform() returns on success. */
type Done = Omit<Extract<ImageOpOutcome, { ok: true }>, 'ok' | 'durationMs'>;
type Emit = (event: ImageOpEvent) => void;

const DEFAULT_CONCURRENCY = 4;
/** A collection that had to keep mounted layers of unreferenced images runs again this much later. */
const GC_RETRY_MS = 30_000;
/** Failures of operations that stored nothing: no collection after them. */
const NOTHING_STORED = new Set(['not_found', 'unauthorized', 'rate_limited', 'registry_unreachable', 'invalid_reference', 'invalid_options', 'cancelled']);

export class ImageWorker {
  readonly #opts: ImageWorkerOptions;
  readonly #puller: ImagePuller;
  readonly #consumer: ImageOpConsumer;
  /** Pool bounds of digests whose pools were emptied on removal, restored when they are stored again. */
  readonly #drained = new Map<string, { image: StoredImage; bounds: PoolBounds }>();
  readonly #closing = new AbortController();
  readonly #hostPaths: HostPathFilter;
  readonly #obtainer: ImageObtainer | undefined;

  private constructor(opts: ImageWorkerOptions) {
    this.#opts = opts;
    const blobs = opts.blobs;
    this.#obtainer = blobs && new ImageObtainer({ store: opts.store, db: opts.db, blobs, pull: (r) => this.pullLocal(r), admitted: (i) => this.#admitted(i) });
    this.#hostPaths = new HostPathFilter([opts.store.root, ...(opts.hostPaths ?? [])]);
    this.#puller = new ImagePuller(opts.store, opts.registry);
    this.#consumer = new ImageOpConsumer({
      connection: opts.connection,
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      perform: (opId, data, signal) => this.#process(opId, data, signal),
      onError: (err) => opts.log.error({ err }, 'image worker error'),
      onCompleted: () => opts.onStoreChanged?.(),
    });
  }

  static start(opts: ImageWorkerOptions): ImageWorker {
    return new ImageWorker(opts);
  }

  /**
   * Pulls into this worker's store and records it: for a job whose image the API had pulled on
   * another worker (each host has its own store). Shares a pull of the same reference in progress.
   */
  async pullLocal(reference: string): Promise<StoredImage> {
    const image = await this.#pullCounted(reference, undefined, this.#closing.signal);
    await this.#admitted(image, null);
    return image;
  }

  /**
   * An image the db has into this worker's store, for a job: pulled, or got from where another
   * host's worker left it (worker/image-obtain.ts); without blob access, pulled.
   */
  obtainLocal(reference: string): Promise<StoredImage> {
    return this.#obtainer ? this.#obtainer.obtain(reference) : this.pullLocal(reference);
  }

  /** Stops taking operations; those in progress are cancelled and end with code `cancelled`. */
  async close(): Promise<void> {
    this.#closing.abort(new ImageOpFailure('cancelled', 'the worker performing the operation stopped; retry it'));
    await this.#consumer.close();
  }

  async #process(opId: string, data: ImageOpData, jobSignal: AbortSignal | undefined): Promise<void> {
    const { redis, log } = this.#opts;
    const started = Date.now();
    const signal = jobSignal ? AbortSignal.any([jobSignal, this.#closing.signal]) : this.#closing.signal;
    const emit: Emit = (event) => {
      appendImageOpEvent(redis, opId, event).catch((err) => log.warn({ err, opId }, 'image operation event append failed'));
    };
    let outcome: ImageOpOutcome;
    try {
      const done = await this.#perform(data, emit, signal);
      outcome = { ok: true, ...done, durationMs: Date.now() - started };
      log.info({ opId, op: data, durationMs: outcome.durationMs }, 'image operation done');
    } catch (err) {
      const error = opErrorOf(signal.aborted ? (signal.reason ?? err) : err, this.#hostPaths);
      if (error.code === 'internal_error') log.error({ err, opId, op: data }, 'image operation failed inside warmbox');
      else log.warn({ opId, op: data, error, err }, 'image operation failed');
      if (data.kind !== 'remove' && data.kind !== 'gc' && !NOTHING_STORED.has(error.code)) await this.#collectAfterFailure(opId);
      outcome = { ok: false, error, durationMs: Date.now() - started };
    }
    try {
      await endImageOp(redis, opId, outcome);
    } catch (err) {
      log.error({ err, opId }, 'image operation: writing its outcome failed; the waiting requests will time out');
    }
  }

  #perform(data: ImageOpData, emit: Emit, signal: AbortSignal): Promise<Done> {
    switch (data.kind) {
      case 'pull':
        return this.#pull(data.reference, emit, signal);
      case 'import':
        return this.#import(data.archive, data.reference, emit);
      case 'remove':
        return this.#remove(data.reference, data.force === true, emit);
      case 'build':
        return this.#build(data, emit, signal);
      case 'gc':
        return this.#collect(emit);
    }
  }

  async #pull(reference: string, emit: Emit, signal: AbortSignal): Promise<Done> {
    emit({ type: 'status', message: `Pulling ${reference}` });
    const image = await this.#pullCounted(reference, (p) => emit({ type: 'progress', ...p }), signal);
    await this.#admitted(image, null);
    emit({ type: 'status', message: `Digest: ${image.digest}` });
    return { references: [image.reference] };
  }

  #pullCounted(reference: string, onProgress: ((p: PullProgress) => void) | undefined, signal: AbortSignal): Promise<StoredImage> {
    const metrics = this.#opts.pullMetrics;
    if (!metrics) return this.#puller.pull(reference, onProgress, signal);
    return metrics.track(reference, (counted) => this.#puller.pull(reference, counted, signal), onProgress, (err) => opErrorOf(err).code);
  }

  /** The archive stays in the API's blob store while its images exist: workers elsewhere import it again. */
  async #import(archive: string, reference: string | undefined, emit: Emit): Promise<Done> {
    emit({ type: 'status', message: `Importing ${reference ?? 'the archive'}` });
    if (!this.#opts.blobs) throw new ImageOpFailure('internal_error', 'this worker has no blob store to read the archive from');
    const path = await this.#opts.blobs.ensure(archive);
    const images = await importImageArchive(this.#opts.store, path, reference !== undefined ? { reference } : {});
    const source: ImageSource = { kind: 'archive', archive, ...(reference !== undefined && { reference }) };
    for (const image of images) {
      await this.#admitted(image, source);
      emit({ type: 'status', message: `Loaded image: ${image.reference} (${image.digest})` });
    }
    return { references: images.map((i) => i.reference) };
  }

  /**
   * Untags, forgets, lets the image's parked sandboxes go, and collects. Refused while jobs of the
   * image are queued or running, unless forced (their sandboxes keep the layers they mounted).
   */
  async #remove(reference: string, force: boolean, emit: Emit): Promise<Done> {
    const { store, db } = this.#opts;
    const image = await store.resolve(reference);
    const row = await findImage(db, reference);
    if (!image && !row) throw new ImageOpFailure('image_not_found', `No such image: ${reference}`);
    if (!force) {
      const active = await countActiveJobsOfImage(db, reference);
      if (active > 0) throw new ImageOpFailure('image_in_use', `image ${reference} is used by ${active} queued or running job(s); wait for them, or force the removal`);
    }
    if (image) await store.remove(reference);
    await deleteImage(db, reference);
    this.#opts.resolver?.forget(reference);
    emit({ type: 'status', message: `Untagged: ${reference}` });
    const digest = image?.digest ?? row?.digest;
    // The other hosts' stores have their own copies: each untags its own (queue/image-removals.ts).
    if (digest !== undefined) await publishImageRemoved(this.#opts.redis, { reference, digest }).catch((err) => this.#opts.log.warn({ err, image: reference }, 'telling the other workers of a removal failed'));
    if (!image) return { references: [], removed: { reference, digest: row?.digest ?? '', freedBytes: 0 } };

    const stillNamed = (await store.list()).some((i) => i.digest === image.digest);
    if (!stillNamed) this.#drainPools(image);
    const freed = await this.#collectOnce();
    emit({ type: 'status', message: `Deleted: ${image.digest} (${freed.freedBytes} bytes freed)` });
    return { references: [], removed: { reference, digest: image.digest, freedBytes: freed.freedBytes } };
  }

  async #build(data: Extract<ImageOpData, { kind: 'build' }>, emit: Emit, signal: AbortSignal): Promise<Done> {
    const opts: BuildRecipeOptions = { reference: data.reference, onLog: (line) => emit({ type: 'log', line: this.#hostPaths.filter(line) }), signal };
    if (this.#opts.debCacheDir !== undefined) opts.debCacheDir = this.#opts.debCacheDir;
    const { image, base } = await buildRecipeImage(this.#opts.store, data.recipe, opts);
    // Listed and runnable like the image itself; both handed on: no registry serves them.
    await this.#admitted(base, await this.#handOn(base));
    await this.#admitted(image, await this.#handOn(image, base));
    return { references: [image.reference] };
  }

  /** An image this worker made, its blobs (those `base` lacks) handed on for the workers of other hosts. */
  async #handOn(image: StoredImage, base?: StoredImage): Promise<ImageSource | null> {
    const { store, blobs } = this.#opts;
    if (!blobs) return null;
    const { manifest, blobs: added } = await imageBlobsOf(store, image, base);
    for (const digest of [manifest, ...added]) await blobs.publish(digest, await store.blobSize(digest), store.blobFilePath(digest), () => store.openBlob(digest));
    return { kind: 'blobs', manifest, blobs: added, ...(base && { base: base.reference }) };
  }

  async #collect(emit: Emit): Promise<Done> {
    const { freedBytes } = await this.#collectOnce();
    emit({ type: 'status', message: `Collected ${freedBytes} bytes` });
    return { references: [] };
  }

  /**
   * What a failed pull, import or build stored (blobs admitted before a layer of theirs turned out
   * bad or too large, layers of an image refused as a whole) is named by no ref: collected before
   * the failure is answered, so that a refused image leaves nothing behind.
   */
  async #collectAfterFailure(opId: string): Promise<void> {
    try {
      await this.#collectOnce();
    } catch (err) {
      this.#opts.log.warn({ err, opId }, 'collecting what a failed image operation stored failed; the next collection takes it');
    }
  }

  /**
   * One collection that keeps what overlays still mount; when that includes layers no ref names
   * any more (a removed image's sandboxes are still running or being destroyed), another is queued.
   */
  async #collectOnce(): Promise<{ freedBytes: number }> {
    const { store, log } = this.#opts;
    const mounted = await mountedLayerDirs(store.root);
    const result = await store.collectGarbage({ keepLayerDirs: mounted, minAgeMs: this.#opts.gcMinAgeMs ?? 0 });
    const referenced = new Set((await store.list()).flatMap((i) => i.layerDirs));
    const held = [...mounted].filter((dir) => !referenced.has(dir));
    log.info({ ...result, heldByMounts: held.length }, 'snapshot store garbage collected');
    if (held.length > 0) await this.#consumer.queueCollection(GC_RETRY_MS);
    return { freedBytes: result.freedBytes };
  }

  /**
   * An image removed by a worker elsewhere: untagged in this store (whatever digest its copy has:
   * an archive imported again may differ), unless the db has it again since; its pools let go, and
   * what it alone used collected.
   */
  async untagRemovedElsewhere(removed: ImageRemoved): Promise<void> {
    const { store, db } = this.#opts;
    const image = await store.resolve(removed.reference);
    if (!image || (await findImage(db, removed.reference)) !== undefined) return;
    await store.remove(removed.reference);
    this.#opts.resolver?.forget(removed.reference);
    if (!(await store.list()).some((i) => i.digest === image.digest)) this.#drainPools(image);
    const { freedBytes } = await this.#collectOnce();
    this.#opts.log.info({ image: removed.reference, freedBytes }, 'untagged an image removed on another host');
  }

  /** Parked sandboxes of an image no ref names any more: let go, so that its layers can be freed. */
  #drainPools(image: StoredImage): void {
    const pools = this.#opts.pools;
    if (!pools) return;
    if (!this.#drained.has(image.digest)) this.#drained.set(image.digest, { image, bounds: pools.boundsOf(image.digest) });
    pools.configure(image, { min: 0, max: 0 });
  }

  /**
   * A stored image: into the db (with where other hosts get it: `source`, kept as the row has it
   * when 'keep'), out of the resolver's cache, and its pools back if they were let go.
   */
  async #admitted(image: StoredImage, source: ImageSource | null | 'keep' = 'keep'): Promise<void> {
    await recordImage(this.#opts.db, this.#opts.store, image, source);
    this.#opts.resolver?.forget(image.reference);
    const drained = this.#drained.get(image.digest);
    if (drained && this.#opts.pools) {
      this.#drained.delete(image.digest);
      this.#opts.pools.configure(image, drained.bounds);
    }
  }
}

/**
 * An error as an outcome, the one place where the runtime's errors become what a client is told:
 * typed errors keep their code (and the field at fault); anything else is internal. No message
 * shows a path of this host (hostPaths).
 */
export function opErrorOf(err: unknown, hostPaths: HostPathFilter = new HostPathFilter([])): ImageOpError {
  if (
    err instanceof ImagePullError ||
    err instanceof ImageImportError ||
    err instanceof ImageStoreError ||
    err instanceof InvalidReferenceError ||
    err instanceof ImageOpFailure
  ) {
    const field = (err as { field?: string }).field;
    return { code: err.code, message: hostPaths.filter(err.message), ...(field !== undefined && { field }) };
  }
  return { code: 'internal_error', message: hostPaths.filter(err instanceof Error ? err.message : String(err)) };
}
