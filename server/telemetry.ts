/**
 * OpenTelemetry for one warmbox process (@opentelemetry/sdk-node), started first and shut down
 * last (one closer: spans and metrics still buffered are flushed).
 *
 * - Metrics: always, read at GET /metrics (a Prometheus reader that opens no port of its own; a
 *   worker-only process, which has no API, serves them at WARMBOX_METRICS_LISTEN when set), and
 *   pushed over OTLP when OTEL_METRICS_EXPORTER (or an OTLP endpoint) says so.
 * - Traces: only when OTEL_TRACES_EXPORTER (or an OTLP endpoint) says so; the SDK builds its
 *   exporters from the standard variables. Off, no tracer provider, context manager or propagator
 *   is registered: the API's no-op tracer answers, and requests are not wrapped in spans.
 *
 * Resource: service.name warmbox (OTEL_SERVICE_NAME overrides), service.version, and
 * service.instance.id = the process's id (`hostname-pid`, the worker id).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { context, createNoopMeter, metrics, propagation, trace, type ContextManager, type Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { MetricsText } from '../api/app.js';
import { packageRoot } from '../contract/paths.js';
import { observeProcess } from './process-metrics.js';
import { metricExportersWanted, metricReadersFor, sdkDisabled, tracingWanted } from './telemetry-env.js';

export interface Telemetry {
  /** Whether spans are recorded (and the API traces requests). */
  tracing: boolean;
  /** Where warmbox's instruments are made; a no-op meter when the SDK is disabled. */
  meter: Meter;
  /** GET /metrics; absent when the SDK is disabled. */
  metricsText?: MetricsText;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** service.instance.id: `hostname-pid`. */
  instanceId: string;
  /** Also serve GET /metrics here (the only place a worker-only process serves it). */
  metricsListen?: { host: string; port: number };
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const env = opts.env ?? process.env;
  if (sdkDisabled(env)) return { tracing: false, meter: createNoopMeter(), shutdown: async () => {} };
  const tracing = tracingWanted(env);
  const pushed = metricExportersWanted(env);
  if (pushed.unknown.length > 0) opts.log.warn({ OTEL_METRICS_EXPORTER: env.OTEL_METRICS_EXPORTER }, `unsupported metric exporters ignored: ${pushed.unknown.join(', ')}`);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'warmbox', [ATTR_SERVICE_VERSION]: version(), [ATTR_SERVICE_INSTANCE_ID]: opts.instanceId }),
    metricReaders: [prometheus, ...(await metricReadersFor(pushed.exporters, env))],
    logRecordProcessors: [], // logs are pino's; none go through OpenTelemetry
    instrumentations: [],
    // Tracing off: no span processor, and nothing that would make every async call pay for context (null: "do not register").
    ...(!tracing && { spanProcessors: [], contextManager: null as unknown as ContextManager, textMapPropagator: null }),
  });
  sdk.start();
  const meter = metrics.getMeter('warmbox', version());
  const stopProcessMetrics = observeProcess(meter);
  const metricsText = prometheusText(prometheus, opts.log);
  const shutdownSdk = async (): Promise<void> => {
    stopProcessMetrics();
    await sdk.shutdown().catch((err) => opts.log.warn({ err }, 'flushing telemetry failed'));
    // Unregistered, so that another start in this process (tests, benchmarks) registers afresh.
    trace.disable();
    metrics.disable();
    context.disable();
    propagation.disable();
  };
  let listener: Server | undefined;
  try {
    listener = opts.metricsListen && (await serveMetrics(opts.metricsListen, metricsText, opts.log));
  } catch (err) {
    await shutdownSdk();
    throw err;
  }
  opts.log.info({ tracing, metricExporters: pushed.exporters, metricsListen: opts.metricsListen }, 'telemetry started');
  return {
    tracing,
    meter,
    metricsText,
    async shutdown() {
      if (listener) await new Promise((resolve) => listener.close(resolve));
      await shutdownSdk();
    },
  };
}

function prometheusText(exporter: PrometheusExporter, log: Logger): MetricsText {
  const serializer = new PrometheusSerializer();
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    async render() {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length > 0) log.warn({ errors: errors.map(String) }, 'some metrics could not be collected for this scrape');
      return serializer.serialize(resourceMetrics);
    },
  };
}

/** GET /metrics on an address of its own; anything else is 404. */
async function serveMetrics(address: { host: string; port: number }, text: MetricsText, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    text.render().then(
      (body) => res.writeHead(200, { 'content-type': text.contentType }).end(body),
      (err) => {
        log.error({ err }, 'rendering the metrics failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`cannot serve metrics on ${address.host}:${address.port}: address in use (set WARMBOX_METRICS_LISTEN)`) : err),
    );
    server.listen(address.port, address.host, resolve);
  });
  return server;
}

let cachedVersion: string | undefined;
function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
