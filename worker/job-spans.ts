/**
 * The worker's child spans of a job's trace (under queue/job-trace.ts's `process jobs`): image
 * resolve, sandbox acquire, run, result record. With tracing off they are the API's no-op spans.
 */
import { trace, type Attributes, type Span } from '@opentelemetry/api';
import type { JobResult } from '../contract/job-payload.js';
import { ended, NON_RECORDING_SPAN, TRACER_NAME, tracingOn } from '../queue/job-trace.js';

/** Runs `work` in a child span of the active one; a throw marks the span as an error. */
export function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingOn()) return work(NON_RECORDING_SPAN);
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, (span) => ended(span, work(span)));
}

/** What a run ended with, on its span: the verdict, the exit code (semantic conventions' name) and the usage. */
export function runAttributes(result: Pick<JobResult, 'verdict' | 'exitCode' | 'signal' | 'usage'>): Attributes {
  return {
    'warmbox.job.verdict': result.verdict,
    ...(result.exitCode !== null && { 'process.exit.code': result.exitCode }),
    ...(result.signal !== null && { 'warmbox.job.signal': result.signal }),
    'warmbox.job.cpu_time_ms': result.usage.cpuTimeMs,
    'warmbox.job.wall_time_ms': result.usage.wallTimeMs,
    'warmbox.job.memory_peak_bytes': result.usage.memoryPeakBytes,
  };
}
