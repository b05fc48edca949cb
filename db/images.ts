/** Queries on the `images` table: the images the snapshot store holds, by normalized reference. */
import { asc, eq } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { images, type ImageRow, type NewImageRow } from './schema.js';

/** Inserts the image or, when the reference is known, points it at the new digest, config and size. */
export function upsertImage(db: WarmboxDb, image: NewImageRow): void {
  const { reference: _reference, ...changes } = image;
  db.insert(images).values(image).onConflictDoUpdate({ target: images.reference, set: changes }).run();
}

export function findImage(db: WarmboxDb, reference: string): ImageRow | undefined {
  return db.select().from(images).where(eq(images.reference, reference)).get();
}

export function listImages(db: WarmboxDb): ImageRow[] {
  return db.select().from(images).orderBy(asc(images.reference)).all();
}

export function deleteImage(db: WarmboxDb, reference: string): boolean {
  return db.delete(images).where(eq(images.reference, reference)).run().changes === 1;
}
