/**
 * A tiny OTLP/HTTP receiver on loopback, for OTEL_EXPORTER_OTLP_PROTOCOL=http/json: it keeps every
 * span and metric name it is sent (POST /v1/traces, /v1/metrics) and answers as a collector does.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind number: 2 server, 3 client, 4 producer, 5 consumer, 1 internal. */
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** What to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  metricNames: Set<string>;
  /** Waits until `ok` holds of the spans received so far (polling), or throws after timeoutMs. */
  waitFor(ok: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

function valueOf(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

function attributesOf(list: { key: string; value: OtlpValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricNames = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (req.url === '/v1/traces') collectSpans(body, spans);
        else if (req.url === '/v1/metrics') collectMetricNames(body, metricNames);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    metricNames,
    async waitFor(ok, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ok(spans)) {
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; received: ${spans.map((s) => s.name).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function collectSpans(body: any, into: ReceivedSpan[]): void {
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, attributes: attributesOf(s.attributes), resource });
      }
    }
  }
}

function collectMetricNames(body: any, into: Set<string>): void {
  for (const rm of body.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) into.add(m.name);
}
