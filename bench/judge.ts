/**
 * Judge runs against the old way, in one run on one service (README "Judge runs" has the figures):
 *   judge (parallel)    POST /v1/judge: gcc once, 20 tests as jobs of image + build layer, 8 at once
 *   judge (sequential)  the same with stopOnFirstFailure (one test at a time)
 *   old way             a job compiles and prints the binary base64; each test is a job that uploads
 *                       it again as a file, one request at a time (what a client did before judge runs)
 *   bare                the same binary as a plain host process, stdin in, stdout out (the floor)
 * Per test: the median time of one test (judge: its job from queued to result; old way: the whole
 * request with the upload; bare: spawn to exit), and each way's whole run, medians over ROUNDS.
 * The C toolchain image is made from the host's gcc (test/helpers/host-gcc-image.ts).
 * Usage: node dist/bench/judge.js [rounds]   → table on stdout, bench/results/judge.json
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostGccArchive } from '../test/helpers/host-gcc-image.js';
import { markdownTable, summarize } from './lib/stats.js';
import { startService, type BenchService } from './lib/warmbox-process.js';
import { writeResults } from './lib/results.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const TESTS = 20;
const IMAGE = 'localhost/warmbox-bench/gcc:host';
const SOLUTION = '#include <stdio.h>\nint main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 1; printf("%ld\\n", a + b); return 0; }\n';
const TEST_DATA = Array.from({ length: TESTS }, (_, i) => ({ stdin: `${i} ${i * 7}\n`, expected: `${i * 8}\n` }));
const CC = ['gcc', '-std=gnu17', '-O2', '-pipe', '-static', '-s', '-o', 'main', 'main.c', '-lm'];

interface Round {
  judgeParallel: { totalMs: number; perTestMs: number[] };
  judgeSequential: { totalMs: number; perTestMs: number[] };
  oldWay: { totalMs: number; perTestMs: number[] };
  bare: { perTestMs: number[] };
}

async function main(): Promise<void> {
  const service = await startService({ env: { WARMBOX_LOG_LEVEL: 'warn' } });
  const work = mkdtempSync(join(tmpdir(), 'warmbox-bench-judge-'));
  try {
    await importImage(service);
    const binary = compileOnHost(work);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push({
        judgeParallel: await judgeRun(service, false),
        judgeSequential: await judgeRun(service, true),
        oldWay: await oldWay(service),
        bare: { perTestMs: await bare(binary) },
      });
    }
    report(rounds);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await service.stop();
  }
}

async function importImage(service: BenchService): Promise<void> {
  const archive = await hostGccArchive(IMAGE, [SOLUTION]);
  const res = await fetch(`${service.url}/v1/images/import?wait=true`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(archive) });
  if (res.status >= 300) throw new Error(`import: ${res.status} ${await res.text()}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, checked by the fields each caller reads
type Json = any;

async function post(service: BenchService, path: string, body: unknown): Promise<Json> {
  const res = await fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json: Json = await res.json();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function judgeRun(service: BenchService, sequential: boolean): Promise<Round['judgeParallel']> {
  const t0 = performance.now();
  const run = await post(service, '/v1/judge?wait=true&timeout=300000', { language: 'c', image: IMAGE, source: SOLUTION, tests: TEST_DATA, stopOnFirstFailure: sequential });
  const totalMs = performance.now() - t0;
  if (run.verdict !== 'accepted') throw new Error(`judge run: ${JSON.stringify(run).slice(0, 500)}`);
  const perTestMs = await Promise.all(run.tests.map(async (t: Json) => (await (await fetch(`${service.url}/v1/jobs/${t.jobId}`)).json()).result.timings.totalMs as number));
  return { totalMs, perTestMs };
}

async function oldWay(service: BenchService): Promise<Round['oldWay']> {
  const t0 = performance.now();
  const build = await post(service, '/v1/jobs?wait=true', { image: IMAGE, cmd: ['sh', '-c', `${CC.join(' ')} && base64 main`], files: [{ path: 'main.c', content: SOLUTION }], limits: { wallTimeMs: 60000, cpuTimeMs: 60000, memoryBytes: 512 << 20, outputBytes: 8 << 20 } });
  if (build.result.verdict !== 'ok') throw new Error(`old way build: ${JSON.stringify(build.result).slice(0, 500)}`);
  const binary = build.result.stdout.replace(/\s+/g, '');
  const perTestMs: number[] = [];
  for (const t of TEST_DATA) {
    const t1 = performance.now();
    const job = await post(service, '/v1/jobs?wait=true', { image: IMAGE, cmd: ['./main'], stdin: t.stdin, files: [{ path: 'main', content: binary, encoding: 'base64', mode: 0o755 }] });
    perTestMs.push(performance.now() - t1);
    if (job.result.stdout !== t.expected) throw new Error(`old way: ${JSON.stringify(job.result).slice(0, 300)}`);
  }
  return { totalMs: performance.now() - t0, perTestMs };
}

function compileOnHost(work: string): string {
  execFileSync('sh', ['-c', 'cat > main.c'], { cwd: work, input: SOLUTION });
  execFileSync(CC[0]!, CC.slice(1), { cwd: work });
  return join(work, 'main');
}

async function bare(binary: string): Promise<number[]> {
  const samples: number[] = [];
  for (const t of TEST_DATA) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('close', () => (out === t.expected ? resolve() : reject(new Error(`bare: ${out}`))));
      child.stdin.end(t.stdin);
    });
    samples.push(performance.now() - t0);
  }
  return samples;
}

function report(rounds: Round[]): void {
  const median = (xs: number[]) => summarize(xs).p50;
  const ways = [
    ['judge run, 8 tests at once', rounds.map((r) => r.judgeParallel)],
    ['judge run, one test at a time', rounds.map((r) => r.judgeSequential)],
    ['old way: binary base64 through stdout, uploaded per test', rounds.map((r) => r.oldWay)],
  ] as const;
  const rows: (string | number)[][] = ways.map(([name, rs]) => [name, median(rs.flatMap((r) => r.perTestMs)), median(rs.map((r) => r.totalMs))]);
  rows.push(['bare host process (same binary)', median(rounds.flatMap((r) => r.bare.perTestMs)), '—']);
  const table = markdownTable(['way (C, 20 tests, one build)', 'per test p50 (ms)', `whole run p50 (ms, ${ROUNDS} rounds)`], rows);
  process.stdout.write(`${table}\n`);
  writeResults({ 'judge.json': { date: new Date().toISOString(), rounds: ROUNDS, tests: TESTS, table: rows } });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
