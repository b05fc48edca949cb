/**
 * Each finished job in the metrics: its end-to-end latency and each phase's (queued, pull,
 * acquire, run), by image, start kind and verdict, and a count of finished jobs by verdict.
 * The numbers are the job's own `timings` (what GET /v1/jobs/{id} shows), in seconds.
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { SECONDS_BUCKETS } from './metric-buckets.js';
import type { ImageLabels } from './metric-labels.js';

const PHASES = ['queued', 'pull', 'acquire', 'run'] as const;

export class JobMetrics {
  readonly #duration: Histogram;
  readonly #phase: Histogram;
  readonly #finished: Counter;

  constructor(meter: Meter, private readonly images: ImageLabels) {
    const advice = { explicitBucketBoundaries: SECONDS_BUCKETS };
    this.#duration = meter.createHistogram('warmbox.job.duration.seconds', {
      description: 'Jobs from the request to the recorded result (timings.totalMs), by image, start kind and verdict',
      unit: 's',
      advice,
    });
    this.#phase = meter.createHistogram('warmbox.job.phase.duration.seconds', {
      description: "Each phase of a job (phase: queued, pull, acquire, run; the job's timings), by image, start kind and verdict",
      unit: 's',
      advice,
    });
    this.#finished = meter.createCounter('warmbox.jobs.finished', { description: 'Jobs that reached a verdict, by verdict and image', unit: '{job}' });
  }

  recordFinished(job: JobPayload, result: JobResult): void {
    const image = this.images.of(job.image);
    const attributes: Attributes = { image, start: result.start, verdict: result.verdict };
    this.#duration.record(result.timings.totalMs / 1000, attributes);
    for (const phase of PHASES) this.#phase.record(result.timings[`${phase}Ms`] / 1000, { ...attributes, phase });
    this.#finished.add(1, { image, verdict: result.verdict });
  }
}
