/**
 * Closed-loop load: `clients` loops, each running `fn` again as soon as the last call ended, until
 * `seconds` are over, so the service always has work. A call that throws counts as failed (the
 * first failure is printed, the rest counted); the others' durations are returned.
 */
export async function closedLoops(clients: number, seconds: number, fn: () => Promise<unknown>): Promise<{ ms: number[]; failed: number }> {
  const end = performance.now() + seconds * 1000;
  const ms: number[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await fn();
          ms.push(performance.now() - t0);
        } catch (err) {
          if (failed++ === 0) console.error(err instanceof Error ? err.message : err);
        }
      }
    }),
  );
  return { ms, failed };
}
