/**
 * The sandbox layer, in one run on one rootfs (the built-in busybox image's layer):
 *   bare      fork + execve + waitpid of busybox true, in C (the floor)
 *   spawn     Node's child_process.spawn of the same (what a naive Node service pays)
 *   cold      warmbox: build a sandbox → run true → result (destroy in the background)
 *   warm      warmbox: claim a parked sandbox → run true → result
 *   runc      `runc run` of the same rootfs with memory and pids limits
 * Usage: node dist/bench/sandbox.js [iterations]   → table on stdout, bench/results/sandbox.json
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredImage } from '../images/image-store.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import type { Sandbox } from '../runtime/sandbox.js';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { openBenchRuntime } from './lib/bench-runtime.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { writeResults } from './lib/results.js';

const N = Number(process.argv[2] ?? 300);
const RUN = { argv: ['/bin/true'], env: ['PATH=/bin'], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS };

async function main(): Promise<void> {
  const bench = await openBenchRuntime('busybox');
  const { dir, runtime, image } = bench;
  const rootfs = image.layerDirs[0]!;
  const results: Record<string, Summary> = {};
  try {
    results.bare = summarize(forkExecSamples(N, [join(rootfs, 'bin/busybox'), 'true']));
    results.spawn = summarize(await timeEach(() => spawnTrue(join(rootfs, 'bin/busybox'))));
    results.cold = summarize(await timeEach(() => cold(runtime, image)));
    results.warm = summarize(await warm(runtime, image));
    results.runc = summarize(await runc(rootfs, dir, Math.min(N, 100)));
  } finally {
    await bench.close();
  }
  report(results);
}


async function timeEach(fn: () => Promise<unknown>, n = N): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

function spawnTrue(busybox: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(busybox, ['true'], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve());
  });
}

async function cold(runtime: SandboxRuntime, image: StoredImage): Promise<void> {
  const box = await runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes });
  const r = await box.run(RUN);
  if (r.verdict !== 'ok') throw new Error(`cold run: ${r.verdict}`);
}

/** Parks a batch, then times claim → run → result for each; teardown is never on the clock. */
async function warm(runtime: SandboxRuntime, image: StoredImage): Promise<number[]> {
  const samples: number[] = [];
  const BATCH = 25;
  for (let done = 0; done < N; done += BATCH) {
    const parked: Sandbox[] = [];
    for (let i = 0; i < BATCH; i++) parked.push(await runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes }));
    await new Promise((r) => setTimeout(r, 50));
    for (const box of parked) {
      const t0 = performance.now();
      const r = await box.run(RUN);
      samples.push(performance.now() - t0);
      if (r.verdict !== 'ok') throw new Error(`warm run: ${r.verdict}`);
    }
    await Promise.all(parked.map((b) => b.closed));
  }
  return samples;
}

async function runc(rootfs: string, dir: string, n: number): Promise<number[]> {
  const bundle = join(dir, 'runc-bundle');
  mkdirSync(bundle);
  execFileSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(execFileSync('cat', [join(bundle, 'config.json')], { encoding: 'utf8' }));
  spec.root = { path: rootfs, readonly: true };
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.linux.resources = { ...spec.linux.resources, memory: { limit: DEFAULT_LIMITS.memoryBytes }, pids: { limit: DEFAULT_LIMITS.pids } };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  let i = 0;
  return timeEach(
    () =>
      new Promise<void>((resolve, reject) => {
        const c = spawn('runc', ['run', '--bundle', bundle, `warmbox-bench-${process.pid}-${i++}`], { stdio: 'ignore' });
        c.once('error', reject);
        c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc exited ${code}`))));
      }),
    n,
  );
}

function report(r: Record<string, Summary>): void {
  const bare = r.bare!.p50;
  const rows = Object.entries(r).map(([name, s]) => [name, s.n, s.p50, s.p90, s.p99, s.p50 / bare]);
  const table = markdownTable(['scenario', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'p50 / bare'], rows);
  const ratios = {
    warmMinusBareMs: r.warm!.p50 - bare,
    warmMinusSpawnMs: r.warm!.p50 - r.spawn!.p50,
    coldOverBare: r.cold!.p50 / bare,
    runcOverCold: r.runc!.p50 / r.cold!.p50,
  };
  console.log(table);
  console.log(`\nwarm − bare: ${ratios.warmMinusBareMs.toFixed(2)} ms; warm − Node spawn: ${ratios.warmMinusSpawnMs.toFixed(2)} ms; cold / bare: ${ratios.coldOverBare.toFixed(1)}x; runc / cold: ${ratios.runcOverCold.toFixed(1)}x`);
  writeResults({ 'sandbox.json': { date: new Date().toISOString(), iterations: N, results: r, ratios } });
}

await main();
