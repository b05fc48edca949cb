/**
 * What network `bridge` costs beside `none`, in one run on the built-in busybox image:
 *   bare           fork + execve + waitpid of busybox true, in C (the floor)
 *   create none    build a sandbox until it is parked (namespaces, overlay, cgroups, seccomp)
 *   create bridge  the same, with its veth made, plugged into the bridge and configured — the
 *                  difference is what attaching the network at acquire time would add to a job
 *   cold none / cold bridge   build → run true → result
 *   warm none / warm bridge   claim a parked sandbox → run true → result (their own pools)
 * The bridge is this process's own (prefix `wbb`, no uplink: the host's sysctls are not touched).
 * Usage: node dist/bench/network.js [iterations]   → table on stdout, bench/results/network.json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuiltinImages } from '../images/builtin-images.js';
import { SnapshotStore, type StoredImage } from '../images/image-store.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import type { NetworkMode } from '../contract/network-mode.js';
import { launcherPath } from '../contract/paths.js';
import { WebhookTargetPolicy } from '../contract/webhook-target-policy.js';
import type { Sandbox } from '../runtime/sandbox.js';
import { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { writeResults } from './lib/results.js';

const N = Number(process.argv[2] ?? 200);
const RUN = { argv: ['/bin/true'], env: ['PATH=/bin'], files: [], stdin: Buffer.alloc(0), ...DEFAULT_LIMITS };
const DISK = DEFAULT_LIMITS.diskBytes;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warmbox-bench-'));
  const store = new SnapshotStore(join(dir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  const image = (await store.resolve('busybox'))!;
  const runtime = await SandboxRuntime.open({
    runDir: join(dir, 'run'),
    launcherPath: launcherPath(),
    uid: 65534,
    gid: 65534,
    network: { namePrefix: 'wbb', pool: '172.29.0.0/16', allow: new WebhookTargetPolicy(), uplinks: [] },
  });
  const results: Record<string, Summary> = {};
  try {
    results.bare = summarize(forkExecSamples(N, [join(image.layerDirs[0]!, 'bin/busybox'), 'true']));
    await runtime.create(image, { diskBytes: DISK, network: 'bridge' }).then((b) => b.destroy()); // the bridge, once: not on the clock
    for (const network of ['none', 'bridge'] as const) results[`create ${network}`] = summarize(await creates(runtime, image, network));
    for (const network of ['none', 'bridge'] as const) results[`cold ${network}`] = summarize(await colds(runtime, image, network));
    for (const network of ['none', 'bridge'] as const) results[`warm ${network}`] = summarize(await warms(runtime, image, network));
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report(results);
}


/** Build until parked; each destroyed off the clock, and waited for, so that teardowns do not pile up. */
async function creates(runtime: SandboxRuntime, image: StoredImage, network: NetworkMode): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const box = await runtime.create(image, { diskBytes: DISK, network });
    samples.push(performance.now() - t0);
    await box.destroy();
  }
  return samples;
}

async function colds(runtime: SandboxRuntime, image: StoredImage, network: NetworkMode): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const box = await runtime.create(image, { diskBytes: DISK, network });
    const r = await box.run(RUN);
    samples.push(performance.now() - t0);
    if (r.verdict !== 'ok') throw new Error(`cold ${network} run: ${r.verdict}`);
    await box.closed;
  }
  return samples;
}

/** Parks a batch, then times claim → run → result for each; creation and teardown are never on the clock. */
async function warms(runtime: SandboxRuntime, image: StoredImage, network: NetworkMode): Promise<number[]> {
  const samples: number[] = [];
  const BATCH = 25;
  for (let done = 0; done < N; done += BATCH) {
    const parked: Sandbox[] = [];
    for (let i = 0; i < BATCH; i++) parked.push(await runtime.create(image, { diskBytes: DISK, network }));
    await new Promise((r) => setTimeout(r, 50));
    for (const box of parked) {
      const t0 = performance.now();
      const r = await box.run(RUN);
      samples.push(performance.now() - t0);
      if (r.verdict !== 'ok') throw new Error(`warm ${network} run: ${r.verdict}`);
    }
    await Promise.all(parked.map((b) => b.closed));
  }
  return samples;
}

function report(r: Record<string, Summary>): void {
  const bare = r.bare!.p50;
  const rows = Object.entries(r).map(([name, s]) => [name, s.n, s.p50, s.p90, s.p99, s.p50 / bare]);
  const table = markdownTable(['scenario', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'p50 / bare'], rows);
  const deltas = {
    vethAtCreateMs: r['create bridge']!.p50 - r['create none']!.p50,
    coldBridgeMinusNoneMs: r['cold bridge']!.p50 - r['cold none']!.p50,
    warmBridgeMinusNoneMs: r['warm bridge']!.p50 - r['warm none']!.p50,
  };
  console.log(table);
  console.log(
    `\ncreate bridge − none: ${deltas.vethAtCreateMs.toFixed(2)} ms (the veth); cold: ${deltas.coldBridgeMinusNoneMs.toFixed(2)} ms; warm: ${deltas.warmBridgeMinusNoneMs.toFixed(2)} ms`,
  );
  writeResults({ 'network.json': { date: new Date().toISOString(), iterations: N, results: r, deltas } });
}

await main();
