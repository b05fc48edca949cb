/**
 * The process's logger: pino, one JSON object per line — or, on a terminal, pino-pretty's
 * readable lines (WARMBOX_LOG_FORMAT=json|pretty forces either). Each line carries `trace_id` and
 * `span_id` while an OpenTelemetry span is active; without a tracing SDK no span ever is, and the
 * mixin returns at once.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Credentials never reach a log line, whatever object a caller logs: a request's or a response's
 * headers (API keys are bearer tokens), an error's `config` or `request` (HTTP clients put headers
 * there), and fields named for a secret.
 */
export const REDACTED = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: string;
  /** Absent: pretty when stdout is a terminal, JSON otherwise. */
  format?: LogFormat;
}

export function createLogger(opts: LoggerOptions, destination?: DestinationStream): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const stream = destination ?? (format === 'pretty' ? pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l' }) : undefined);
  const options = { level: opts.level, mixin: traceContext, redact: { paths: REDACTED, censor: '[redacted]' } };
  return stream === undefined ? pino(options) : pino(options, stream);
}

/** The active span's ids, as the OpenTelemetry log data model names them. */
export function traceContext(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}
