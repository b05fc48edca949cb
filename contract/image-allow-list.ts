/** A tenant's image allow-list (TenantPolicy.images): exact references and prefixes ending in `*`. */
import { normalizeReference } from './image-reference.js';

/**
 * An allow-list entry as a job's image is compared with it: `busybox` → `docker.io/library/busybox:latest`.
 * A prefix pattern (`docker.io/library/python*`) is kept as written: it must name the normalized form.
 */
export function normalizedPattern(pattern: string): string {
  if (pattern.endsWith('*')) return pattern;
  try {
    return normalizeReference(pattern);
  } catch {
    return pattern; // the policy schema names it
  }
}

/** Whether a normalized reference is on the allow-list (null: any image). */
export function imageAllowed(reference: string, patterns: readonly string[] | null): boolean {
  if (patterns === null) return true;
  return patterns.some((p) => (p.endsWith('*') ? reference.startsWith(p.slice(0, -1)) : reference === p));
}
