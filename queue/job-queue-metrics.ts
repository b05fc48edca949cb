/**
 * The jobs queue as metrics: how many jobs wait and run, and how long the oldest has waited.
 * Observed at each collection (a Prometheus scrape, an OTLP export) with JobQueue.depth(): one
 * pipeline and at most one more read, bounded in time so that a scrape during a Redis outage
 * answers without them rather than hanging.
 */
import type { BatchObservableCallback, Meter } from '@opentelemetry/api';
import type { QueueDepth } from './job-queue.js';

/** The longest a collection waits for Redis. */
const DEPTH_TIMEOUT_MS = 1000;

/** Observes the queue at each collection until the returned function is called (before the queue closes). */
export function observeJobQueue(meter: Meter, depth: () => Promise<QueueDepth>): () => void {
  const jobs = meter.createObservableGauge('warmbox.queue.jobs', {
    description: 'Jobs in the queue: waiting for a worker (state=queued) or being run (state=running), over every worker',
    unit: '{job}',
  });
  const oldest = meter.createObservableGauge('warmbox.queue.oldest_age.seconds', {
    description: 'How long the oldest job waiting for a worker has waited (0: none waits)',
    unit: 's',
  });
  const observe: BatchObservableCallback = async (result) => {
    const d = await withTimeout(depth(), DEPTH_TIMEOUT_MS);
    result.observe(jobs, d.queued, { state: 'queued' });
    result.observe(jobs, d.running, { state: 'running' });
    result.observe(oldest, d.oldestAgeMs / 1000);
  };
  meter.addBatchObservableCallback(observe, [jobs, oldest]);
  return () => meter.removeBatchObservableCallback(observe, [jobs, oldest]);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the queue's depth did not come within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
