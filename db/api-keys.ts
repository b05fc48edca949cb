/** Queries on `api_keys` (contract/api-key.ts). */
import { and, eq, isNull } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { DbWriteError } from './db-write-error.js';
import { apiKeys, type ApiKeyRow } from './schema.js';

export function createApiKey(db: WarmboxDb, row: ApiKeyRow): void {
  try {
    db.insert(apiKeys).values(row).run();
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function getApiKey(db: WarmboxDb, id: string): ApiKeyRow | undefined {
  return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
}

/** Oldest first; one tenant's, or every tenant's. */
export function listApiKeys(db: WarmboxDb, tenantId?: string): ApiKeyRow[] {
  const query = db.select().from(apiKeys);
  return (tenantId === undefined ? query : query.where(eq(apiKeys.tenantId, tenantId))).orderBy(apiKeys.createdAt, apiKeys.id).all();
}

/** Returns false when there is no such key or it was revoked already. */
export function revokeApiKey(db: WarmboxDb, id: string, at: number): boolean {
  try {
    return db.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).run().changes === 1;
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function touchApiKey(db: WarmboxDb, id: string, at: number): void {
  db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id)).run();
}
