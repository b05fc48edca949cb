/**
 * Wall-clock milliseconds with a fraction: `Date.now()` counts whole milliseconds, too coarse for
 * a queue wait that is itself about a millisecond. Comparable across processes (both sides are
 * epoch-based), like Date.now().
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
