import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_POLICY, PoolDemand } from '../../runtime/pool-policy.js';

describe('PoolDemand', () => {
  const bounds = { min: 1, max: 50 };

  it('keeps the minimum while nothing has been claimed', () => {
    assert.equal(new PoolDemand().target(bounds, 0), 1);
  });

  it("grows with the claim rate (Little's law) and stays within the maximum", () => {
    const d = new PoolDemand();
    for (let t = 0; t < 2000; t += 2) d.claim(t); // 500 claims/s
    d.replenished(20); // replacing one takes 20 ms: ~10 in flight, x2 safety, +burst
    const target = d.target(bounds, 2000);
    assert.ok(target >= 15 && target <= 50, `target ${target}`);
    assert.ok(d.rate(2000) > 300, `rate ${d.rate(2000)}`);
    assert.equal(d.target({ min: 1, max: 8 }, 2000), 8);
  });

  it('shrinks back to the minimum after an idle period', () => {
    const d = new PoolDemand();
    for (let t = 0; t < 1000; t += 2) d.claim(t);
    assert.ok(d.target(bounds, 1000) > bounds.min);
    assert.equal(d.target(bounds, 1000 + DEFAULT_POLICY.idleMs + 1), bounds.min);
  });
});
