/**
 * What the standard OpenTelemetry variables ask of this process. Tracing and OTLP metrics are on
 * only when they are asked for — an exporter named (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER)
 * or an OTLP endpoint given (OTEL_EXPORTER_OTLP_ENDPOINT and its per-signal forms), the spec's
 * default exporter being otlp; without them no span processor and no exporter exist.
 * OTEL_SDK_DISABLED=true turns everything off, GET /metrics included.
 */
import { PeriodicExportingMetricReader, ConsoleMetricExporter, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter as OtlpHttpJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpHttpProtobuf } from '@opentelemetry/exporter-metrics-otlp-proto';

type Env = NodeJS.ProcessEnv;

export function sdkDisabled(env: Env): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/** Whether spans are recorded and exported: the SDK then reads the same variables to build its exporters. */
export function tracingWanted(env: Env): boolean {
  const exporters = listOf(env.OTEL_TRACES_EXPORTER);
  if (exporters.length > 0) return exporters.some((e) => e !== 'none');
  return isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * The metric exporters pushed to, besides GET /metrics (which is always there, whatever
 * OTEL_METRICS_EXPORTER says: `prometheus` in it names that one). Unknown names are returned in
 * `unknown`, for a warning.
 */
export function metricExportersWanted(env: Env): { exporters: ('otlp' | 'console')[]; unknown: string[] } {
  let names = listOf(env.OTEL_METRICS_EXPORTER);
  if (names.length === 0 && (isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT))) names = ['otlp'];
  if (names.includes('none')) return { exporters: [], unknown: [] };
  const exporters = names.filter((n): n is 'otlp' | 'console' => n === 'otlp' || n === 'console');
  return { exporters, unknown: names.filter((n) => n !== 'otlp' && n !== 'console' && n !== 'prometheus') };
}

/** A periodic reader for each exporter, at OTEL_METRIC_EXPORT_INTERVAL (default 60 s). */
export async function metricReadersFor(exporters: ('otlp' | 'console')[], env: Env): Promise<PeriodicExportingMetricReader[]> {
  const intervalMs = positiveInt(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
  const timeoutMs = Math.min(positiveInt(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000, intervalMs);
  const readers: PeriodicExportingMetricReader[] = [];
  for (const name of exporters) {
    const exporter = name === 'console' ? new ConsoleMetricExporter() : await otlpMetricExporter(env);
    readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs, exportTimeoutMillis: timeoutMs }));
  }
  return readers;
}

/** By OTEL_EXPORTER_OTLP_METRICS_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL, as the SDK picks its trace exporter; each reads its endpoint and headers itself. */
async function otlpMetricExporter(env: Env): Promise<PushMetricExporter> {
  const protocol = (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim() || 'http/protobuf';
  switch (protocol) {
    case 'http/json':
      return new OtlpHttpJson();
    case 'grpc': {
      // Loaded only when asked for: gRPC brings a large client library.
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
      return new OTLPMetricExporter();
    }
    case 'http/protobuf':
      return new OtlpHttpProtobuf();
    default:
      throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: expected grpc, http/protobuf or http/json`);
  }
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}
