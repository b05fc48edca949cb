/**
 * Image pulls in the metrics: how long each took and how many bytes it downloaded, by image and
 * outcome (`ok`, or the pull's error code: not_found, registry_unreachable, …). Layers the store
 * already had (`exists`) download nothing. Callers that share one pull in progress each count it.
 */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import type { PullProgress } from '../contract/pull-progress.js';
import { SECONDS_BUCKETS } from './metric-buckets.js';
import type { ImageLabels } from './metric-labels.js';

export type Pull<T> = (onProgress: (p: PullProgress) => void) => Promise<T>;

export class PullMetrics {
  readonly #duration: Histogram;
  readonly #bytes: Counter;

  constructor(meter: Meter, private readonly images: ImageLabels) {
    this.#duration = meter.createHistogram('warmbox.image.pull.duration.seconds', {
      description: 'Image pulls from the request to the stored image, by image and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.#bytes = meter.createCounter('warmbox.image.pull.bytes', { description: 'Bytes image pulls downloaded, by image and outcome', unit: 'By' });
  }

  /** Runs `pull`, counting its time, its downloaded bytes and its outcome; `outcomeOf` names a failure. */
  async track<T>(reference: string, pull: Pull<T>, onProgress: ((p: PullProgress) => void) | undefined, outcomeOf: (err: unknown) => string): Promise<T> {
    const t0 = performance.now();
    const layers = new Map<string, number>();
    const count = (p: PullProgress): void => {
      layers.set(p.layer, p.status === 'exists' ? 0 : Math.max(layers.get(p.layer) ?? 0, p.doneBytes));
      onProgress?.(p);
    };
    let outcome = 'ok';
    try {
      return await pull(count);
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      const attributes = { image: this.images.of(reference), outcome };
      this.#duration.record((performance.now() - t0) / 1000, attributes);
      let bytes = 0;
      for (const b of layers.values()) bytes += b;
      this.#bytes.add(bytes, attributes);
    }
  }
}
