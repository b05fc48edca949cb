/** Queries on the `images` table: the images the snapshot store holds, by normalized reference. */
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { images, jobs, type ImageRow, type NewImageRow } from './schema.js';

/** One layer of an image as its manifest lists it, with the diff_id its config gives it. */
export interface ImageLayerRecord {
  /** Blob digest (compressed, as the registry serves it). */
  digest: string;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Blob bytes. */
  size: number;
  /** Bytes of the uncompressed tar (absent in rows of older versions). */
  unpackedSize?: number;
  mediaType: string;
}

/**
 * What the `config` column holds: the image's runtime config (as images/image-store's ImageConfig)
 * and, when the worker that recorded it read them, its layers and platform. Rows written before
 * layers were recorded lack them.
 */
export interface ImageRecordConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  layers?: ImageLayerRecord[];
  /** Bytes of its blobs as stored (config and layers, compressed): what a pull downloads. */
  compressedBytes?: number;
  os?: string;
  architecture?: string;
}

/** Inserts the image or, when the reference is known, points it at the new digest, config and size. */
export function upsertImage(db: WarmboxDb, image: NewImageRow): void {
  const { reference: _reference, ...changes } = image;
  db.insert(images).values(image).onConflictDoUpdate({ target: images.reference, set: changes }).run();
}

export function findImage(db: WarmboxDb, reference: string): ImageRow | undefined {
  return db.select().from(images).where(eq(images.reference, reference)).get();
}

const recordedStatements = new WeakMap<WarmboxDb, ReturnType<typeof prepareRecorded>>();

function prepareRecorded(db: WarmboxDb) {
  return db.select({ reference: images.reference }).from(images).where(eq(images.reference, sql.placeholder('reference'))).prepare();
}

/**
 * Whether the image is recorded: what every job submission asks, so prepared once per database and
 * reading no column it does not need (findImage parses the image's whole config).
 */
export function imageRecorded(db: WarmboxDb, reference: string): boolean {
  let statement = recordedStatements.get(db);
  if (statement === undefined) recordedStatements.set(db, (statement = prepareRecorded(db)));
  return statement.get({ reference }) !== undefined;
}

export function listImages(db: WarmboxDb): ImageRow[] {
  return db.select().from(images).orderBy(asc(images.reference)).all();
}

export function deleteImage(db: WarmboxDb, reference: string): boolean {
  return db.delete(images).where(eq(images.reference, reference)).run().changes === 1;
}

/** A row's config column read defensively: missing fields are empty, as an image without them runs. */
export function imageRecordConfig(row: Pick<ImageRow, 'config'>): ImageRecordConfig {
  const c = row.config as Partial<ImageRecordConfig>;
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  const config: ImageRecordConfig = {
    entrypoint: strings(c.entrypoint),
    cmd: strings(c.cmd),
    env: strings(c.env),
    workingDir: typeof c.workingDir === 'string' ? c.workingDir : '',
    user: typeof c.user === 'string' ? c.user : '',
  };
  if (Array.isArray(c.layers)) config.layers = c.layers;
  if (typeof c.compressedBytes === 'number') config.compressedBytes = c.compressedBytes;
  if (typeof c.os === 'string') config.os = c.os;
  if (typeof c.architecture === 'string') config.architecture = c.architecture;
  return config;
}

/** Jobs of this image that are queued or running: a removal must wait for them (409 image_in_use). */
export function countActiveJobsOfImage(db: WarmboxDb, reference: string): number {
  const row = db
    .select({ n: count() })
    .from(jobs)
    .where(and(eq(jobs.image, reference), inArray(jobs.status, ['queued', 'running'])))
    .get();
  return row?.n ?? 0;
}
