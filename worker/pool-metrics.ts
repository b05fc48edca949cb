/**
 * A worker's warm pools in the metrics: parked sandboxes and targets per image, claims (warm hits
 * and cold misses), refills and their failures — read from the pools' own counters at each
 * collection — and the time each sandbox took to make, as the runtime reports it
 * (PoolsConfig.onCreated).
 */
import type { Histogram, Meter } from '@opentelemetry/api';
import type { PoolStats } from '../contract/pools.js';
import type { StoredImage } from '../contract/stored-image.js';
import { SECONDS_BUCKETS } from './metric-buckets.js';
import type { ImageLabels } from './metric-labels.js';

type Totals = Pick<PoolStats, 'parked' | 'target' | 'warmClaims' | 'coldStarts' | 'created' | 'createFailures'>;

export class PoolMetrics {
  readonly #creation: Histogram;

  constructor(private readonly meter: Meter, private readonly images: ImageLabels) {
    this.#creation = meter.createHistogram('warmbox.sandbox.create.duration.seconds', {
      description: 'Time to make one sandbox, by image and kind (pool: parked ahead of a job; cold: made for a job that found none parked)',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  }

  /** For PoolsConfig.onCreated. */
  readonly recordCreation = (image: StoredImage, ms: number, kind: 'pool' | 'cold'): void => {
    this.#creation.record(ms / 1000, { image: this.images.of(image.reference), kind });
  };

  /** Observes the pools' stats at each collection. */
  observe(stats: () => PoolStats[]): void {
    const m = this.meter;
    const parked = m.createObservableGauge('warmbox.pool.parked', { description: 'Parked sandboxes, by image', unit: '{sandbox}' });
    const target = m.createObservableGauge('warmbox.pool.target', { description: 'How many parked sandboxes each pool is filling towards, by image', unit: '{sandbox}' });
    const claims = m.createObservableCounter('warmbox.pool.claims', { description: 'Sandboxes asked of the pools, by image and start (warm: a parked one; cold: none parked)', unit: '{claim}' });
    const refills = m.createObservableCounter('warmbox.pool.refills', { description: 'Sandboxes the pools made and parked, by image', unit: '{sandbox}' });
    const failures = m.createObservableCounter('warmbox.pool.refill_failures', { description: 'Pool refills that failed to make a sandbox, by image', unit: '{sandbox}' });
    m.addBatchObservableCallback((r) => {
      for (const [image, t] of this.#byImage(stats())) {
        r.observe(parked, t.parked, { image });
        r.observe(target, t.target, { image });
        r.observe(claims, t.warmClaims, { image, start: 'warm' });
        r.observe(claims, t.coldStarts, { image, start: 'cold' });
        r.observe(refills, t.created, { image });
        r.observe(failures, t.createFailures, { image });
      }
    }, [parked, target, claims, refills, failures]);
  }

  /** The pools of one image label summed (one per disk size, or images counted as `other`). */
  #byImage(all: PoolStats[]): Map<string, Totals> {
    const totals = new Map<string, Totals>();
    for (const s of all) {
      const image = this.images.of(s.image);
      const t = totals.get(image) ?? { parked: 0, target: 0, warmClaims: 0, coldStarts: 0, created: 0, createFailures: 0 };
      for (const k of Object.keys(t) as (keyof Totals)[]) t[k] += s[k];
      totals.set(image, t);
    }
    return totals;
  }
}
