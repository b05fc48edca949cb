/**
 * API keys: bearer tokens that say which tenant a request acts for and what it may do (README
 * "Tenants and keys"). A token is `wbx_<key id>_<secret>`: the prefix makes a leaked token easy to
 * recognise (and to scan for), the id finds the key's row without a search, and the secret is 256
 * random bits, of which only a sha256 is stored. A fast hash is right for a secret of that entropy
 * (nothing to brute-force); it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a key may do; every route needs one of them (api/route-scopes.ts maps each).
 *   jobs:submit    submit (and batch), cancel; make, change and delete triggers
 *   jobs:read      read jobs, their output, events and deliveries; list triggers; the queue and images
 *   images:manage  pull, import, build and remove images; pools; the stores' disk usage
 *   admin          tenants and keys, system status, /metrics — and everything above, for every tenant
 */
export const SCOPES = ['jobs:submit', 'jobs:read', 'images:manage', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What `warmbox keys create` and POST /v1/keys give a key that names no scope: a client that runs jobs. */
export const DEFAULT_KEY_SCOPES: readonly Scope[] = ['jobs:submit', 'jobs:read'];

export const TOKEN_PREFIX = 'wbx';
/** 16 hex digits: the key's id (not secret: it is listed, and names the key in logs). */
export const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
const TOKEN_PATTERN = /^wbx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** Whether `scopes` grant `needed`: admin grants everything. */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes(needed) || scopes.includes('admin');
}

export interface NewKeySecret {
  id: string;
  /** The whole bearer token: shown once, never stored. */
  token: string;
  /** `sha256:<hex>` of the secret part: what is stored. */
  secretHash: string;
}

export function newKeySecret(): NewKeySecret {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${TOKEN_PREFIX}_${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The key id and secret of a token; undefined for anything that is not one. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

/** Constant-time: how much of a guess matched must not show in the time it takes. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}
