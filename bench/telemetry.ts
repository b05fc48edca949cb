/**
 * What OpenTelemetry costs a warm job, in one run: three services side by side, each a real
 * `warmbox server` with its own Redis, the same build, differing only in their OTEL_* variables:
 *   disabled   OTEL_SDK_DISABLED=true: no SDK at all, no /metrics (the baseline: what warmbox
 *              would cost without telemetry, but for the no-op API calls)
 *   off        the default: metrics for GET /metrics, tracing off (no span processor, no-op tracer)
 *   on         tracing and metrics exported over OTLP (http/json) to a sink on loopback, every span
 *              of every job sent (OTEL_BSP_SCHEDULE_DELAY 200 ms, metrics every second)
 * Jobs are sequential `true` in busybox with ?wait=true (warm starts), sent round-robin to the
 * three, the order rotated each round, so that drift on these shared machines hits each alike.
 * Reports medians (client round trip, and the server's timings.totalMs) and their ratios to
 * `disabled`. Usage: node dist/bench/telemetry.js [rounds=300] → stdout, bench/results/telemetry.json
 */
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { startService, type BenchService } from './lib/warmbox-process.js';
import { writeResults } from './lib/results.js';

const ROUNDS = Number(process.argv[2] ?? 300);
const WARMUP = 30;
const MODES = ['disabled', 'off', 'on'] as const;
type Mode = (typeof MODES)[number];

interface Samples {
  clientMs: number[];
  serverMs: number[];
  warm: number;
}

async function main(): Promise<void> {
  const sink = await startOtlpReceiver();
  const envOf: Record<Mode, Record<string, string>> = {
    disabled: { OTEL_SDK_DISABLED: 'true' },
    off: {},
    on: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    },
  };
  const services = new Map<Mode, BenchService>();
  try {
    for (const mode of MODES) services.set(mode, await startService({ env: envOf[mode] }));
    const samples = new Map<Mode, Samples>(MODES.map((m) => [m, { clientMs: [], serverMs: [], warm: 0 }]));
    for (let round = -WARMUP; round < ROUNDS; round++) {
      for (let i = 0; i < MODES.length; i++) {
        const mode = MODES[(i + Math.abs(round)) % MODES.length]!;
        const job = await runJob(services.get(mode)!.url);
        if (round < 0) continue;
        const s = samples.get(mode)!;
        s.clientMs.push(job.clientMs);
        s.serverMs.push(job.totalMs);
        if (job.start === 'warm') s.warm++;
      }
    }
    await new Promise((r) => setTimeout(r, 1000)); // the last batch of spans
    report(samples, sink.spans.length);
  } finally {
    for (const s of services.values()) await s.stop();
    await sink.stop();
  }
}

async function runJob(url: string): Promise<{ clientMs: number; totalMs: number; start: string }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd: ['true'] }) });
  const job = (await res.json()) as { result?: { verdict: string; start: string; timings: { totalMs: number } } };
  const clientMs = performance.now() - t0;
  if (res.status !== 200 || job.result?.verdict !== 'ok') throw new Error(`job failed: ${res.status} ${JSON.stringify(job)}`);
  return { clientMs, totalMs: job.result.timings.totalMs, start: job.result.start };
}

function report(samples: Map<Mode, Samples>, spans: number): void {
  const summaries = Object.fromEntries(
    MODES.map((m) => {
      const s = samples.get(m)!;
      return [m, { client: summarize(s.clientMs), server: summarize(s.serverMs), warmRatio: s.warm / s.clientMs.length }];
    }),
  ) as Record<Mode, { client: Summary; server: Summary; warmRatio: number }>;
  const base = summaries.disabled;
  const rows = MODES.map((m) => {
    const x = summaries[m];
    return [m, x.client.n, x.client.p50, x.client.p90, x.server.p50, x.server.p90, x.client.p50 / base.client.p50, x.server.p50 / base.server.p50, x.warmRatio];
  });
  console.log(markdownTable(['telemetry', 'jobs', 'client p50 ms', 'client p90 ms', 'server p50 ms', 'server p90 ms', 'client p50 / disabled', 'server p50 / disabled', 'warm'], rows));
  console.log(`\nspans the sink received from \`on\`: ${spans}, ${(spans / (ROUNDS + WARMUP)).toFixed(1)} per job (warm-up included)`);
  writeResults({ 'telemetry.json': { date: new Date().toISOString(), rounds: ROUNDS, spans, summaries } });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
