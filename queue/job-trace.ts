/**
 * The jobs queue's part of a job's trace, both ends (OpenTelemetry messaging conventions): the
 * enqueue is a PRODUCER span `send jobs`, whose W3C Trace Context travels in the payload
 * (`traceparent`, `tracestate`); the worker's CONSUMER span `process jobs` continues it, so one
 * trace runs from the HTTP request to the recorded result.
 *
 * With tracing off no SDK is registered: the API's no-op tracer makes each span a couple of calls,
 * nothing is injected, and the payload travels as it is. A payload without a traceparent (tracing
 * off at the API, or a job queued before warmbox carried one) starts a trace of its own.
 * A job's webhook deliveries carry the same context (queue/webhook-queue.ts), so their spans join the job's trace.
 */
import { context, INVALID_SPAN_CONTEXT, propagation, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { JobPayload } from '../contract/job-payload.js';
import { QUEUE_JOBS } from './redis-keys.js';

/** The instrumentation scope of warmbox's own spans. */
export const TRACER_NAME = 'warmbox';

/** Messaging semantic conventions (incubating there, so spelled out here rather than imported). */
const MESSAGING = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
} as const;

function messagingAttributes(type: 'send' | 'process', operation: string, id: string): Attributes {
  return {
    [MESSAGING.system]: 'bullmq',
    [MESSAGING.operationType]: type,
    [MESSAGING.operationName]: operation,
    [MESSAGING.destination]: QUEUE_JOBS,
    [MESSAGING.messageId]: id,
  };
}

/**
 * Runs `send` inside the enqueue's span, with the span's context injected into the payloads it
 * sends (a batch is one span: one enqueue, every job of it a child's parent).
 */
export function sendTraced<T>(payloads: JobPayload[], send: (payloads: JobPayload[]) => Promise<T>): Promise<T> {
  const first = payloads[0]!;
  const attributes: Attributes = { ...messagingAttributes('send', 'add', first.id), 'warmbox.image': first.image };
  if (payloads.length > 1) attributes['messaging.batch.message_count'] = payloads.length;
  return trace.getTracer(TRACER_NAME).startActiveSpan(`send ${QUEUE_JOBS}`, { kind: SpanKind.PRODUCER, attributes }, (span) => {
    if (!span.isRecording()) {
      span.end();
      return send(payloads);
    }
    return ended(span, send(payloads.map(withTraceContext)));
  });
}

/**
 * Whether spans are made at all. With no tracer provider registered (tracing off) the API's no-op
 * tracer still builds a span, a context and a closure per call: a worker's job makes five, for nothing.
 */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(TRACER_NAME) !== undefined;
}

/** The span work gets while tracing is off: it records nothing. */
export const NON_RECORDING_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Runs the worker's processing of a job inside its CONSUMER span, a child of the enqueue when the payload carries one. */
export function processTraced<T>(payload: JobPayload, process: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingOn()) return process(NON_RECORDING_SPAN);
  const parent = payload.traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, carrierOf(payload));
  const attributes = { ...messagingAttributes('process', 'process', payload.id), 'warmbox.image': payload.image };
  return trace.getTracer(TRACER_NAME).startActiveSpan(`process ${QUEUE_JOBS}`, { kind: SpanKind.CONSUMER, attributes }, parent, (span) =>
    ended(span, process(span)),
  );
}

/** W3C Trace Context fields of the active span, for a message queued on its behalf (empty with tracing off). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export function activeTraceContext(): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const { traceparent, tracestate } = carrier;
  return { ...(traceparent !== undefined && { traceparent }), ...(tracestate !== undefined && { tracestate }) };
}

/** Runs `work` in the context a message carried (its spans continue that trace), or as it is. */
export function inTraceContext<T>(carried: TraceCarrier, work: () => T): T {
  if (carried.traceparent === undefined) return work();
  return context.with(propagation.extract(ROOT_CONTEXT, { ...carried }), work);
}

function withTraceContext(payload: JobPayload): JobPayload {
  return { ...payload, ...activeTraceContext() };
}

function carrierOf(payload: JobPayload): Record<string, string> {
  return { traceparent: payload.traceparent!, ...(payload.tracestate !== undefined && { tracestate: payload.tracestate }) };
}

/** Ends the span when the work settles; a rejection marks it as an error. */
export async function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
