/** Queries on the `images` table: the images the snapshot store holds, by normalized reference. */
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import { changesOf, first, type Query, type WarmboxDb } from './database.js';
import { prepared } from './prepared.js';
import type { ImageRow, NewImageRow } from './schema.js';

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
export async function upsertImage(db: WarmboxDb, image: NewImageRow): Promise<void> {
  const { images } = db.t;
  const { reference: _reference, ...changes } = image;
  await db.query(async (q) => q.insert(images).values(image).onConflictDoUpdate({ target: images.reference, set: changes }));
}

export function findImage(db: WarmboxDb, reference: string): Promise<ImageRow | undefined> {
  const { images } = db.t;
  return db.query(async (q) => first(await q.select().from(images).where(eq(images.reference, reference)).limit(1)));
}

const recordedStatements = new WeakMap<Query, ReturnType<typeof prepareRecorded>>();

function prepareRecorded(db: WarmboxDb, q: Query) {
  const { images } = db.t;
  return prepared(q.select({ reference: images.reference }).from(images).where(eq(images.reference, sql.placeholder('reference'))), 'warmbox_image_recorded');
}

/**
 * Whether the image is recorded: what every job submission asks, so prepared once per database and
 * reading no column it does not need (findImage parses the image's whole config).
 */
export function imageRecorded(db: WarmboxDb, reference: string): Promise<boolean> {
  return db.query(async (q) => {
    let statement = recordedStatements.get(q);
    if (statement === undefined) recordedStatements.set(q, (statement = prepareRecorded(db, q)));
    return (await statement.execute({ reference })).length > 0;
  });
}

export function listImages(db: WarmboxDb): Promise<ImageRow[]> {
  const { images } = db.t;
  return db.query(async (q) => q.select().from(images).orderBy(asc(images.reference)));
}

export function deleteImage(db: WarmboxDb, reference: string): Promise<boolean> {
  const { images } = db.t;
  return db.query(async (q) => changesOf(await q.delete(images).where(eq(images.reference, reference))) === 1);
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
export async function countActiveJobsOfImage(db: WarmboxDb, reference: string): Promise<number> {
  const { jobs } = db.t;
  const rows = await db.query(async (q) =>
    q
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.image, reference), inArray(jobs.status, ['queued', 'running']))),
  );
  return rows[0]?.n ?? 0;
}
