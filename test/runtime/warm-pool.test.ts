/**
 * WarmPool's refill: a pool learns how long a replacement takes from the claim to the parked
 * replacement, waiting for the claimed sandbox's teardown included (not just the creation), so a
 * pool whose sandboxes take long to tear down keeps more of them parked. The sandboxes here are
 * stand-ins with the two things a pool uses (`closed`, `destroy`): the pool's accounting is
 * under test, not the sandbox.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { StoredImage } from '../../contract/stored-image.js';
import type { Sandbox } from '../../runtime/sandbox.js';
import { WarmPool } from '../../runtime/warm-pool.js';

const IMAGE = { reference: 'busybox', digest: 'sha256:0' } as StoredImage;
const BOUNDS = { min: 3, max: 50 };

/** A pool whose sandboxes are made at once and are gone `teardownMs` after they are claimed. */
function poolWithTeardown(teardownMs: number): { pool: WarmPool; claimAndFinish: () => void } {
  const pool = new WarmPool(IMAGE, 1 << 20, 'none', BOUNDS, {
    create: async () => {
      let gone!: () => void;
      const closed = new Promise<void>((resolve) => (gone = resolve));
      return { closed, destroy: async () => gone(), run: () => setTimeout(gone, teardownMs) } as unknown as Sandbox;
    },
    mayPark: () => true,
    onError: (err) => assert.fail(err as Error),
  });
  const claimAndFinish = (): void => {
    const sandbox = pool.claim() as unknown as { run(): void } | undefined;
    assert.ok(sandbox, 'the pool had a parked sandbox');
    sandbox.run();
  };
  return { pool, claimAndFinish };
}

async function settled(pool: WarmPool): Promise<void> {
  while (pool.stats().creating > 0 || pool.stats().parked < BOUNDS.min) await sleep(5);
}

describe('WarmPool refill', () => {
  it("counts the claimed sandbox's teardown in a replacement's lead time: slower teardown, larger target", async () => {
    const quick = poolWithTeardown(0);
    const slow = poolWithTeardown(1000);
    for (const { pool } of [quick, slow]) {
      pool.refill();
      await settled(pool);
    }
    // The same claims, at the same moments, on both pools.
    for (let i = 0; i < 8; i++) {
      quick.claimAndFinish();
      slow.claimAndFinish();
      await sleep(5);
    }
    await sleep(1100); // every teardown over, every replacement made
    await Promise.all([settled(quick.pool), settled(slow.pool)]);
    const [q, s] = [quick.pool.stats(), slow.pool.stats()];
    assert.ok(s.target > q.target, `target with a 1 s teardown ${s.target}, with none ${q.target}`);
    await Promise.all([quick.pool.close(), slow.pool.close()]);
  });
});
