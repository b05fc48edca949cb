/**
 * The HTTP benchmark: a real warmbox service (its own redis-server, a temporary data directory),
 * and every scenario of bench/scenarios.json in each of its modes (cold: the image's pool bounds
 * max 0; warm: pools on), sent open-loop at the scenario's arrival rate. Records client latency,
 * throughput, and the server's own timings (queued / pull / acquire / run, warm or cold).
 *
 * Usage: npx tsc -p tsconfig.json && node dist/bench/http.js [--scenarios a,b] [--workers N] [--quick]
 *   --workers N: an API-only process and N `warmbox worker` processes instead of one process
 *   → bench/results/http.json, http.md, http.svg (and, when bench/results/sandbox.json exists,
 *     the comparison with the sandbox layer's floor; bench/sandbox.ts makes that file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compareWithFloor, markdownReport, summarizeRun, svgReport, type HttpReport, type RunSummary, type SandboxFloor } from './lib/http-report.js';
import { JobClient } from './lib/open-loop.js';
import { arrivalOffsetsMs, loadScenarios, type LoadShape, type Mode, type Scenario, type ScenarioFile } from './lib/scenarios.js';
import { setPoolBounds, settle } from './lib/pool-bounds.js';
import { startService, type BenchService } from './lib/warmbox-process.js';
import { RESULTS_DIR, writeResults } from './lib/results.js';

/** --quick: every phase this much shorter (a smoke run; numbers not for the README). */
const QUICK_FACTOR = 0.3;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scenarios: { type: 'string' }, workers: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('Usage: node dist/bench/http.js [--scenarios NAME,NAME] [--workers N] [--quick]');
    return;
  }
  const workers = Number(values.workers ?? 0);
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: expected a whole number, got ${values.workers}`);
  const file = loadScenarios();
  const only = values.scenarios?.split(',').filter(Boolean);
  const unknown = only?.filter((n) => !file.scenarios.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; bench/scenarios.json has ${file.scenarios.map((s) => s.name).join(', ')}`);
  const scenarios = file.scenarios.filter((s) => !only || only.includes(s.name));
  const quick = values.quick ?? false;

  const service = await startService({ workers });
  const client = new JobClient(service.url);
  const report: HttpReport = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, node: process.versions.node, kernel: release() },
    quick,
    topology: workers > 0 ? `an API process and ${workers} worker process(es)` : 'one process: the API and a worker',
    runs: [],
    skipped: [],
  };
  try {
    console.error(`warmbox at ${service.url} (data ${service.dataDir}; ${report.topology})`);
    for (const scenario of scenarios) {
      const image = await imageReference(service, scenario, file);
      if (image === undefined) {
        const note = `skipped: image ${JSON.stringify(scenario.image)} is not in the store${scenario.skipUnless ? ` (runs when ${scenario.skipUnless})` : ''}`;
        console.error(`${scenario.name}: ${note}`);
        report.skipped.push({ scenario: scenario.name, note });
        continue;
      }
      for (const mode of scenario.modes) report.runs.push(await runScenario(service, client, file, scenario, image, mode, quick));
    }
  } finally {
    client.close();
    await service.stop();
  }

  const floorFile = join(RESULTS_DIR, 'sandbox.json');
  if (existsSync(floorFile)) report.floor = compareWithFloor(report.runs, JSON.parse(readFileSync(floorFile, 'utf8')) as SandboxFloor);
  const name = values.scenarios || workers > 0 || quick ? `http${workers > 0 ? `-${workers}w` : ''}${values.scenarios ? `-${only!.join('-')}` : ''}${quick ? '-quick' : ''}` : 'http';
  const md = markdownReport(report);
  writeResults({ [`${name}.json`]: report, [`${name}.md`]: md, [`${name}.svg`]: svgReport(report) });
  console.error(`wrote bench/results/${name}.{json,md,svg}`);
  console.log(md);
  const missed = report.runs.flatMap((r) => r.thresholds.filter((t) => !t.pass).map((t) => `${r.scenario}/${r.mode} ${t.name}`));
  if (missed.length) console.error(`thresholds missed: ${missed.join(', ')}`);
}

/** The scenario's normalized image reference, or undefined when the image is not in the store. */
async function imageReference(service: BenchService, scenario: Scenario, file: ScenarioFile): Promise<string | undefined> {
  const res = await setPoolBounds(service, scenario.image, file.poolBounds.warm);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`PUT /v1/pools/${scenario.image}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
  return (res.json as { image: string }).image;
}

async function runScenario(service: BenchService, client: JobClient, file: ScenarioFile, scenario: Scenario, image: string, mode: Mode, quick: boolean): Promise<RunSummary> {
  const bounds = file.poolBounds[mode];
  const set = await setPoolBounds(service, scenario.image, bounds);
  if (set.status !== 200) throw new Error(`PUT /v1/pools/${scenario.image}: HTTP ${set.status} ${JSON.stringify(set.json)}`);
  await settle(service, image, bounds, file.settleS * 1000);
  const body = JSON.stringify({ image: scenario.image, cmd: scenario.cmd });
  if (scenario.warmup) {
    console.error(`${scenario.name}/${mode}: warm-up ${describe(scenario.warmup, quick)}`);
    await client.run(arrivalOffsetsMs(shorten(scenario.warmup, quick)), body);
  }
  const load = shorten(scenario.load, quick);
  console.error(`${scenario.name}/${mode}: measuring ${describe(scenario.load, quick)}`);
  const summary = summarizeRun(scenario, mode, await client.run(arrivalOffsetsMs(load), body), load.durationS);
  const missed = summary.thresholds.filter((t) => !t.pass).map((t) => `${t.name} ${t.value} (limit ${t.limit})`);
  console.error(
    `${scenario.name}/${mode}: p50 ${summary.latencyMs.p50.toFixed(2)} ms, p99 ${summary.latencyMs.p99.toFixed(2)} ms, ` +
      `${summary.throughput} ok jobs/s, warm ${(summary.warmRatio * 100).toFixed(0)}%, errors ${summary.errors}` +
      (missed.length ? `; missed: ${missed.join(', ')}` : ''),
  );
  return summary;
}

function shorten(shape: LoadShape, quick: boolean): LoadShape {
  return quick ? { ...shape, durationS: Math.max(1, shape.durationS * QUICK_FACTOR) } : shape;
}

function describe(shape: LoadShape, quick: boolean): string {
  const s = shorten(shape, quick);
  return s.shape === 'constant' ? `${s.rate} jobs/s for ${s.durationS} s` : `${s.fromRate} → ${s.toRate} jobs/s over ${s.durationS} s`;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
