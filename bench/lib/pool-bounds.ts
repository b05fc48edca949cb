/** A benchmark's hold on the server's pools: set an image's bounds, and wait until they are applied. */
import type { BenchService } from './warmbox-process.js';

export async function setPoolBounds(service: BenchService, image: string, bounds: { min: number; max: number }): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${service.url}/v1/pools/${encodeURIComponent(image)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bounds) });
  return { status: res.status, json: await res.json() };
}

/** Waits until the server's pool of the image shows the bounds applied: filled to min, or empty for max 0. */
export async function settle(service: BenchService, image: string, bounds: { min: number; max: number }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const view = (await (await fetch(`${service.url}/v1/pools`)).json()) as { workers: { pools: { image: string; max: number; parked: number; creating: number }[] }[] };
    const pools = view.workers.flatMap((w) => w.pools.filter((p) => p.image === image));
    const settled = pools.length > 0 && pools.every((p) => p.max === bounds.max && (bounds.max === 0 ? p.parked + p.creating === 0 : p.parked >= bounds.min));
    if (settled) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`warning: the pool of ${image} did not settle at ${JSON.stringify(bounds)} within ${timeoutMs} ms`);
}
