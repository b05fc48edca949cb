/**
 * bench/k6/jobs.js against the very service bench/http.ts measures: starts it the same way
 * (lib/warmbox-process.ts: a redis-server of its own, a temporary data directory, this build's
 * dist/), runs k6 on it, and stops it. k6 is not a dependency of warmbox: K6=/path/to/k6, else `k6`
 * on PATH (bench/k6/jobs.js says which versions work).
 *
 * Usage: npx tsc -p tsconfig.json && node dist/bench/k6-run.js [--workers N] [-- K6_RUN_ARGS...]
 *   e.g. node dist/bench/k6-run.js -- -e SCENARIOS=trivial,output -e MODES=warm
 *   → bench/results/k6.json (the script's summary), and its table on stdout
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../contract/paths.js';
import { startService } from './lib/warmbox-process.js';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    console.log('Usage: node dist/bench/k6-run.js [--workers N] [-- K6_RUN_ARGS...]   (K6=path to k6, default `k6` on PATH)');
    return 0;
  }
  const workers = Number(values.workers ?? 0);
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: expected a whole number, got ${values.workers}`);
  const k6 = process.env.K6 || 'k6';

  const service = await startService({ workers });
  try {
    console.error(`warmbox at ${service.url} (data ${service.dataDir}); ${k6} run bench/k6/jobs.js`);
    const child = spawn(k6, ['run', '-e', `WARMBOX_URL=${service.url}`, ...positionals, join('bench', 'k6', 'jobs.js')], { cwd: packageRoot(), stdio: 'inherit' });
    const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([err]) => Promise.reject(new Error(`cannot run ${k6} (set K6=/path/to/k6): ${(err as Error).message}`)))])) as [number | null];
    return code ?? 1;
  } finally {
    await service.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
