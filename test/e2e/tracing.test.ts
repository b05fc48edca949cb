/**
 * OpenTelemetry traces end to end: a real server exporting over OTLP/HTTP (JSON) to a receiver the
 * test runs on loopback, a real Redis, real sandboxes. One job, one trace: the caller's span →
 * the HTTP server span → the enqueue → the worker's processing → image resolve, sandbox acquire,
 * run, result record; and metrics pushed over OTLP beside GET /metrics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';
import { answer, startReceiver } from '../helpers/webhook-receiver.js';

let redis: TestRedis;
let receiver: OtlpReceiver;
let server: TestServer;

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;
const CLIENT = 3;

before(async () => {
  redis = await startRedis();
  receiver = await startOtlpReceiver();
  server = await startServer({
    redisUrl: redis.url,
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      WARMBOX_WEBHOOK_ALLOW: 'loopback',
    },
  });
});
after(async () => {
  await server?.stop();
  await receiver?.stop();
  await redis?.stop();
});

/** Runs a job with the caller's trace context; returns the trace id, the caller's span id and the job. */
async function tracedJob(cmd: string[], extra: object = {}): Promise<{ traceId: string; callerSpanId: string; job: any }> {
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  const res = await fetch(`${server.url}/v1/jobs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
    body: JSON.stringify({ image: 'busybox', cmd, ...extra }),
  });
  assert.equal(res.status, 200);
  return { traceId, callerSpanId, job: await res.json() };
}

const NAMES = ['POST /v1/jobs', 'send warmbox-jobs', 'process warmbox-jobs', 'image resolve', 'sandbox acquire', 'job run', 'result record'];

/** The trace's spans by name, once all of them have arrived. */
async function traceOf(traceId: string): Promise<Map<string, ReceivedSpan>> {
  const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
  await receiver.waitFor((spans) => NAMES.every((n) => inTrace(spans).some((s) => s.name === n)), `whole trace ${traceId}`);
  const byName = new Map<string, ReceivedSpan>();
  for (const s of inTrace(receiver.spans)) {
    assert.ok(!byName.has(s.name), `one ${s.name} span in the trace`);
    byName.set(s.name, s);
  }
  return byName;
}

describe('tracing over OTLP', () => {
  it('links the HTTP request, the enqueue, the worker and its acquire and run spans in one trace', async () => {
    const { traceId, callerSpanId, job } = await tracedJob(['echo', 'traced']);
    assert.equal(job.result.verdict, 'ok');
    const spans = await traceOf(traceId);
    const span = (name: string) => spans.get(name)!;

    const http = span('POST /v1/jobs');
    assert.equal(http.parentSpanId, callerSpanId, "the HTTP span is the caller's child");
    assert.equal(http.kind, SERVER);
    assert.equal(http.attributes['http.request.method'], 'POST');
    assert.equal(http.attributes['http.route'], '/v1/jobs');
    assert.equal(http.attributes['url.path'], '/v1/jobs');
    assert.equal(http.attributes['http.response.status_code'], 200);

    const send = span('send warmbox-jobs');
    assert.equal(send.parentSpanId, http.spanId);
    assert.equal(send.kind, PRODUCER);
    assert.equal(send.attributes['messaging.operation.type'], 'send');
    assert.equal(send.attributes['messaging.destination.name'], 'warmbox-jobs');
    assert.equal(send.attributes['messaging.message.id'], job.id);

    const process = span('process warmbox-jobs');
    assert.equal(process.parentSpanId, send.spanId, 'the worker continues the context carried in the job');
    assert.equal(process.kind, CONSUMER);
    assert.equal(process.attributes['messaging.operation.type'], 'process');
    assert.equal(process.attributes['warmbox.job.verdict'], 'ok');

    for (const child of ['image resolve', 'sandbox acquire', 'job run', 'result record']) assert.equal(span(child).parentSpanId, process.spanId, child);
    assert.equal(span('sandbox acquire').attributes['warmbox.sandbox.start'], job.result.start);
    assert.equal(span('image resolve').attributes['warmbox.image.digest'], job.digest);
    const run = span('job run');
    assert.equal(run.attributes['warmbox.job.verdict'], 'ok');
    assert.equal(run.attributes['process.exit.code'], 0);
    assert.equal(typeof run.attributes['warmbox.job.cpu_time_ms'], 'number');
    assert.ok((run.attributes['warmbox.job.memory_peak_bytes'] as number) > 0);

    assert.equal(http.resource['service.name'], 'warmbox');
    assert.match(String(http.resource['service.instance.id']), /^.+-\d+$/);
    assert.equal(typeof http.resource['service.version'], 'string');
  });

  it("puts each webhook delivery attempt in the job's trace, as a client span", async () => {
    const hook = await startReceiver(answer(200));
    try {
      const { traceId, job } = await tracedJob(['true'], { webhook: { url: hook.url } });
      await hook.waitFor(1);
      await receiver.waitFor((spans) => spans.some((s) => s.traceId === traceId && s.name === 'webhook deliver'), `the delivery span in trace ${traceId}`);
      const deliver = receiver.spans.find((s) => s.traceId === traceId && s.name === 'webhook deliver')!;
      assert.equal(deliver.kind, CLIENT);
      assert.equal(deliver.attributes['warmbox.job.id'], job.id);
      assert.equal(deliver.attributes['http.response.status_code'], 200);
      assert.equal(deliver.attributes['warmbox.webhook.outcome'], 'delivered');
    } finally {
      await hook.close();
    }
  });

  it("records a failing command's verdict and exit code on its run span", async () => {
    const { traceId } = await tracedJob(['sh', '-c', 'exit 3']);
    const run = (await traceOf(traceId)).get('job run')!;
    assert.equal(run.attributes['warmbox.job.verdict'], 'nonzero_exit');
    assert.equal(run.attributes['process.exit.code'], 3);
  });

  it('starts a trace of its own for a request without traceparent, and does not trace scrapes', async () => {
    const res = await fetch(`${server.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd: ['true'] }) });
    const job = await res.json();
    await receiver.waitFor((spans) => spans.some((s) => s.name === 'send warmbox-jobs' && s.attributes['messaging.message.id'] === job.id), 'the send span of the untraced request');
    const send = receiver.spans.find((s) => s.name === 'send warmbox-jobs' && s.attributes['messaging.message.id'] === job.id)!;
    const http = receiver.spans.find((s) => s.spanId === send.parentSpanId)!;
    assert.equal(http.name, 'POST /v1/jobs');
    assert.equal(http.parentSpanId, '', 'a root span');
    await fetch(`${server.url}/metrics`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!receiver.spans.some((s) => s.attributes['url.path'] === '/metrics'));
  });

  it('pushes the metrics over OTLP when OTEL_METRICS_EXPORTER says so', async () => {
    const deadline = Date.now() + 30_000;
    while (!receiver.metricNames.has('warmbox.job.duration.seconds') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const name of ['warmbox.job.duration.seconds', 'warmbox.jobs.finished', 'warmbox.queue.jobs', 'warmbox.pool.parked', 'process.cpu.seconds']) {
      assert.ok(receiver.metricNames.has(name), `${name} in ${[...receiver.metricNames].join(', ')}`);
    }
  });
});
