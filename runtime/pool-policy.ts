/**
 * How many parked sandboxes a pool should hold. Little's law: sandboxes missing while one is
 * being replaced = claim rate × time to replace one (its lead time: from the claim that took a
 * sandbox to its replacement parked, which includes waiting for the claimed sandbox to be torn
 * down, runtime/warm-pool.ts); a pool holding that many (times a safety factor, plus a burst
 * allowance) rarely meets a claim empty-handed. The rate is an exponentially
 * weighted moving average, so a pool follows its traffic up quickly and back down slowly.
 */
import type { PoolBounds } from '../contract/pools.js';

export interface PolicySettings {
  /** Multiplies the Little's-law figure: headroom for jitter in arrivals and creation time. */
  safety: number;
  /** Added to the target while the pool is in use: absorbs a burst before the rate catches up. */
  burst: number;
  /** Half-life of the arrival-rate average, in milliseconds. */
  rateHalfLifeMs: number;
  /** A pool without claims for this long shrinks back to its minimum. */
  idleMs: number;
}

export const DEFAULT_POLICY: PolicySettings = { safety: 2, burst: 2, rateHalfLifeMs: 1_000, idleMs: 60_000 };

export class PoolDemand {
  private ratePerMs = 0;
  private lastClaimAt = -Infinity;
  /** Until the first replacement is parked: FACTS.md's ~3 ms to make a sandbox. */
  private leadMsAvg = 3;
  private leadSamples = 0;

  constructor(private readonly settings: PolicySettings = DEFAULT_POLICY) {}

  /** Records a claim at `now` (ms). */
  claim(now: number): void {
    const gap = Math.max(now - this.lastClaimAt, 0.001);
    const decay = Math.pow(0.5, gap / this.settings.rateHalfLifeMs);
    // One arrival after `gap` ms: blend its instantaneous rate into the average.
    this.ratePerMs = Number.isFinite(gap) ? this.ratePerMs * decay + (1 - decay) / gap : 1 / this.settings.rateHalfLifeMs;
    this.lastClaimAt = now;
  }

  /** Records how long one replacement took, from the need for it (a claim) until it was parked. */
  replenished(leadMs: number): void {
    this.leadMsAvg = this.leadSamples++ === 0 ? leadMs : 0.8 * this.leadMsAvg + 0.2 * leadMs;
  }

  /** Claims per second, as averaged. */
  rate(now: number): number {
    const idle = now - this.lastClaimAt;
    return this.ratePerMs * Math.pow(0.5, Math.max(idle, 0) / this.settings.rateHalfLifeMs) * 1000;
  }

  target(bounds: PoolBounds, now: number): number {
    if (now - this.lastClaimAt > this.settings.idleMs) return bounds.min;
    const littles = (this.rate(now) / 1000) * this.leadMsAvg * this.settings.safety;
    const want = Math.ceil(littles) + this.settings.burst;
    return Math.max(bounds.min, Math.min(bounds.max, want));
  }
}
