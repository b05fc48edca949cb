/** Queries on `api_keys` (contract/api-key.ts). */
import { and, eq, isNull } from 'drizzle-orm';
import { changesOf, first, type WarmboxDb } from './database.js';
import { DbWriteError } from './db-write-error.js';
import type { ApiKeyRow } from './schema.js';

export async function createApiKey(db: WarmboxDb, row: ApiKeyRow): Promise<void> {
  const { apiKeys } = db.t;
  try {
    await db.query(async (q) => q.insert(apiKeys).values(row));
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function getApiKey(db: WarmboxDb, id: string): Promise<ApiKeyRow | undefined> {
  const { apiKeys } = db.t;
  return db.query(async (q) => first(await q.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1)));
}

/** Oldest first; one tenant's, or every tenant's. */
export function listApiKeys(db: WarmboxDb, tenantId?: string): Promise<ApiKeyRow[]> {
  const { apiKeys } = db.t;
  return db.query(async (q) => {
    const query = q.select().from(apiKeys);
    return (tenantId === undefined ? query : query.where(eq(apiKeys.tenantId, tenantId))).orderBy(apiKeys.createdAt, apiKeys.id);
  });
}

/** Returns false when there is no such key or it was revoked already. */
export async function revokeApiKey(db: WarmboxDb, id: string, at: number): Promise<boolean> {
  const { apiKeys } = db.t;
  try {
    return await db.query(async (q) => changesOf(await q.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))) === 1);
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export async function touchApiKey(db: WarmboxDb, id: string, at: number): Promise<void> {
  const { apiKeys } = db.t;
  await db.query(async (q) => q.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id)));
}
