/**
 * The sandbox-creation ceiling of this machine: how many sandboxes per second warmbox's runtime
 * can make, run `true` in and tear down when nothing else is in the way (no HTTP, no queue, no db),
 * with K of them in flight at once, and where the CPU goes meanwhile: this Node process (the
 * runtime's side: launcher protocol, cgroups, overlay set-up), and the rest of the machine (the
 * kernel's namespace, mount and cgroup work, the launcher and the sandbox's own processes), read
 * from /proc/stat. Every job of the service consumes one sandbox (the pool makes a new one to
 * replace it), so this is the most jobs per second the service could sustain on this machine;
 * bench/server-cpu.ts's sustained figures are to be read against it.
 *
 * Usage: node dist/bench/sandbox-ceiling.js [--seconds S] [--inflight 1,2,4,8,16,32]
 *   → table on stdout, bench/results/sandbox-ceiling.{json,md}
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import type { StoredImage } from '../images/image-store.js';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { openBenchRuntime } from './lib/bench-runtime.js';
import { machineCpuMs } from './lib/proc-cpu.js';
import { markdownTable, summarize } from './lib/stats.js';
import { writeResults } from './lib/results.js';

const RUN = { argv: ['/bin/true'], env: ['PATH=/bin'], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS };

interface Level {
  inflight: number;
  sandboxes: number;
  perSecond: number;
  /** CPU ms per sandbox: this process, and the rest of the machine (kernel, launcher, sandboxes, anything else running). */
  nodeMs: number;
  restMs: number;
  /** Share of the machine's CPU time that was busy. */
  machineBusy: number;
}

function nodeCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** `inflight` loops of create → run → teardown for `seconds`. */
async function level(runtime: SandboxRuntime, image: StoredImage, inflight: number, seconds: number): Promise<Level> {
  const deadline = performance.now() + seconds * 1000;
  let sandboxes = 0;
  const m0 = machineCpuMs();
  const n0 = nodeCpuMs();
  const t0 = performance.now();
  const loop = async () => {
    while (performance.now() < deadline) {
      const box = await runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes });
      const r = await box.run(RUN);
      if (r.verdict !== 'ok') throw new Error(`run: ${r.verdict}`);
      await box.closed;
      sandboxes++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const wallS = (performance.now() - t0) / 1000;
  const m1 = machineCpuMs();
  const nodeMs = nodeCpuMs() - n0;
  const busyMs = m1.busy - m0.busy;
  return {
    inflight,
    sandboxes,
    perSecond: sandboxes / wallS,
    nodeMs: nodeMs / sandboxes,
    restMs: Math.max(0, busyMs - nodeMs) / sandboxes,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, inflight: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 5);
  const levels = (values.inflight ?? '1,2,4,8,16,32').split(',').map(Number);
  const bench = await openBenchRuntime('busybox');
  const { runtime, image } = bench;
  const results: Level[] = [];
  let bareP50: number;
  try {
    bareP50 = summarize(forkExecSamples(300, [join(image.layerDirs[0]!, 'bin/busybox'), 'true'])).p50;
    await level(runtime, image, 2, 1); // warm-up
    for (const inflight of levels) {
      const r = await level(runtime, image, inflight, seconds);
      results.push(r);
      console.error(`${inflight} in flight: ${r.perSecond.toFixed(1)} sandboxes/s`);
    }
  } finally {
    await bench.close();
  }
  const best = results.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const table = markdownTable(
    ['in flight', 'sandboxes', 'sandboxes/s', 'Node CPU ms each', 'rest of the machine CPU ms each', 'machine busy'],
    results.map((r) => [r.inflight, r.sandboxes, r.perSecond.toFixed(1), r.nodeMs.toFixed(2), r.restMs.toFixed(2), `${Math.round(r.machineBusy * 100)}%`]),
  );
  const md = [
    `# Sandbox-creation ceiling — ${new Date().toISOString()}`,
    '',
    `${cpus().length} CPUs. Each sandbox: create (namespaces, cgroup, overlay on the busybox layer) → run \`true\` → teardown, ${seconds} s per level.`,
    '',
    table,
    '',
    `Ceiling: ${best.perSecond.toFixed(1)} sandboxes/s (${best.inflight} in flight). Bare fork + execve + waitpid of busybox true in the same run: p50 ${bareP50.toFixed(3)} ms.`,
    '',
  ].join('\n');
  console.log(md);
  writeResults({ 'sandbox-ceiling.json': { date: new Date().toISOString(), cpus: cpus().length, seconds, bareForkExecP50Ms: bareP50, levels: results }, 'sandbox-ceiling.md': md });
}

await main();
