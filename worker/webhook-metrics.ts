/**
 * Webhook delivery attempts in the metrics and traces: a count by what each attempt came to
 * (`delivered`, `retry` — another attempt follows —, `dead`), how long its POST took, and a span
 * per attempt (an HTTP client span, with the job's id) in the tracing that is on.
 */
import { SpanKind, SpanStatusCode, trace, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import { TRACER_NAME } from '../queue/job-trace.js';
import { SECONDS_BUCKETS } from './metric-buckets.js';
import type { WebhookAttemptEnd } from './webhook-deliverer.js';

const OUTCOME = { delivered: 'delivered', pending: 'retry', dead: 'dead' } as const;

export class WebhookMetrics {
  readonly #attempts: Counter;
  readonly #duration: Histogram;

  constructor(meter: Meter) {
    this.#attempts = meter.createCounter('warmbox.webhook.attempts', { description: 'Webhook delivery attempts, by outcome (delivered, retry, dead)', unit: '{attempt}' });
    this.#duration = meter.createHistogram('warmbox.webhook.attempt.duration.seconds', {
      description: "Each webhook delivery attempt's POST, by outcome",
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  }

  /** For WebhookDeliverer's onAttemptEnd. */
  recordAttempt(end: WebhookAttemptEnd): void {
    const outcome = OUTCOME[end.state as keyof typeof OUTCOME] ?? end.state;
    this.#attempts.add(1, { outcome });
    this.#duration.record(end.latencyMs / 1000, { outcome });
    traceAttempt(end, outcome);
  }
}

/** A span for the attempt that just ended, its start set back by the attempt's latency. */
function traceAttempt(end: WebhookAttemptEnd, outcome: string): void {
  const now = Date.now();
  const span = trace.getTracer(TRACER_NAME).startSpan('webhook deliver', {
    kind: SpanKind.CLIENT,
    startTime: now - end.latencyMs,
    attributes: {
      'http.request.method': 'POST',
      ...(end.statusCode !== null && { 'http.response.status_code': end.statusCode }),
      'warmbox.job.id': end.jobId,
      'warmbox.webhook.delivery_id': end.deliveryId,
      'warmbox.webhook.attempt': end.attempt,
      'warmbox.webhook.outcome': outcome,
    },
  });
  if (end.error !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: end.error });
  span.end(now);
}
