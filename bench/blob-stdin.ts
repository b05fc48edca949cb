/**
 * Test data by reference: a job with 4 MiB on its stdin sent inline (base64 in the request, through
 * Redis and the launcher's socket) against the same job naming an uploaded blob (the launcher reads
 * it on the worker's host), and the same bytes as a blob file; beside a bare baseline (no stdin)
 * in the same run, interleaved, on one server with warm pools.
 *
 * Usage: npx tsc -p tsconfig.json && node dist/bench/blob-stdin.js [--rounds N]
 *   → bench/results/blob-stdin.json, and a markdown table on stdout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpus, release } from 'node:os';
import { parseArgs } from 'node:util';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { startService } from './lib/warmbox-process.js';
import { writeResults } from './lib/results.js';

const MiB = 1024 * 1024;
const DATA_BYTES = 4 * MiB;
/** Reads its stdin (or the file) to the end, as a judged solution would, and prints its size. */
const READ_STDIN = ['sh', '-c', 'wc -c'];

type Variant = 'bare' | 'inline stdin' | 'blob stdin' | 'blob file';

interface Sample {
  clientMs: number;
  runMs: number;
  totalMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 30);
  const service = await startService({ env: { WARMBOX_PREWARM: 'busybox=2' } });
  try {
    const data = randomBytes(DATA_BYTES);
    const digest = await upload(service.url, data);
    const bodies: Record<Variant, unknown> = {
      bare: { image: 'busybox', cmd: READ_STDIN },
      'inline stdin': { image: 'busybox', cmd: READ_STDIN, stdin: { base64: data.toString('base64') } },
      'blob stdin': { image: 'busybox', cmd: READ_STDIN, stdin: { blob: digest } },
      'blob file': { image: 'busybox', cmd: ['sh', '-c', 'wc -c < data.in'], files: [{ path: 'data.in', blob: digest }] },
    };
    const expected: Record<Variant, string> = { bare: '0\n', 'inline stdin': `${DATA_BYTES}\n`, 'blob stdin': `${DATA_BYTES}\n`, 'blob file': `${DATA_BYTES}\n` };
    const variants = Object.keys(bodies) as Variant[];
    const samples = Object.fromEntries(variants.map((v) => [v, [] as Sample[]])) as Record<Variant, Sample[]>;
    for (const v of variants) await runOnce(service.url, bodies[v], expected[v]); // warm-up, not measured
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) samples[v].push(await runOnce(service.url, bodies[v], expected[v]));
    }
    report(rounds, samples);
  } finally {
    await service.stop();
  }
}

async function upload(url: string, data: Buffer): Promise<string> {
  const res = await fetch(`${url}/v1/blobs`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  const json = (await res.json()) as { digest: string };
  if (res.status !== 201 || json.digest !== `sha256:${createHash('sha256').update(data).digest('hex')}`) throw new Error(`upload failed: ${res.status} ${JSON.stringify(json)}`);
  return json.digest;
}

async function runOnce(url: string, body: unknown, expectStdout: string): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const job = (await res.json()) as { result?: { verdict: string; stdout: string; timings: { runMs: number; totalMs: number } } };
  const clientMs = performance.now() - t0;
  if (job.result?.verdict !== 'ok' || job.result.stdout.trim() !== expectStdout.trim()) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(job).slice(0, 300)}`);
  return { clientMs, runMs: job.result.timings.runMs, totalMs: job.result.timings.totalMs };
}

function report(rounds: number, samples: Record<Variant, Sample[]>): void {
  const rows = Object.entries(samples).map(([variant, s]) => {
    const client = summarize(s.map((x) => x.clientMs));
    return { variant, client, run: summarize(s.map((x) => x.runMs)), total: summarize(s.map((x) => x.totalMs)) };
  });
  const fmt = (x: Summary) => x.p50.toFixed(1);
  const table = markdownTable(
    ['job (busybox `wc -c`)', 'client p50 ms', 'client p90 ms', 'server total p50 ms', 'run p50 ms'],
    rows.map((r) => [r.variant, fmt(r.client), r.client.p90.toFixed(1), fmt(r.total), fmt(r.run)]),
  );
  const out = { date: new Date().toISOString(), host: { cpus: cpus().length, kernel: release(), node: process.versions.node }, dataBytes: DATA_BYTES, rounds, rows };
  writeResults({ 'blob-stdin.json': out });
  console.log(table);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
