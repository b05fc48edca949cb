/**
 * A key's `last_used_at`, written coarsely: at most once per TOUCH_EVERY_MS per key and process,
 * so that a busy client does not cost a db write per request. Good enough to tell a key in use
 * from a forgotten one, which is what it is for.
 */
import type { WarmboxDb } from '../db/client.js';
import { touchApiKey } from '../db/api-keys.js';

export const TOUCH_EVERY_MS = 60_000;

export class KeyUsage {
  private readonly written = new Map<string, number>();

  constructor(private readonly db: WarmboxDb) {}

  used(keyId: string, lastUsedAt: number | null, now = Date.now()): void {
    const last = Math.max(this.written.get(keyId) ?? 0, lastUsedAt ?? 0);
    if (now - last < TOUCH_EVERY_MS) return;
    this.written.set(keyId, now);
    // Not awaited: the request goes on. A db that cannot take writes: the time is written at a later use.
    touchApiKey(this.db, keyId, now).catch(() => this.written.delete(keyId));
  }
}
