/**
 * Server CPU per job: the sustained scenario of bench/scenarios.json against a real warmbox
 * service (bench/lib/warmbox-process.ts), and the CPU time the kernel counted for each of its
 * processes over the measured load (/proc/PID/stat), divided by the jobs that finished in it;
 * beside it the bare baseline the other benchmarks use (bench/native/forkexec.c: fork + execve +
 * waitpid of busybox true, no sandbox). Also counts what the load got: accepted, refused
 * (503 `overloaded`), finished, and the latency of the accepted jobs.
 *
 * Usage: npx tsc -p tsconfig.json && node dist/bench/server-cpu.js [--label NAME] [--workers N] [--profile] [--rate R] [--redis unix|tcp] [--set WARMBOX_X=V ...]
 *   --profile: the server runs under `node --cpu-prof` (a separate run: profiling costs CPU itself);
 *              its profile is summarized (self time by function and area) with a flame graph
 *   --rate R: the measured load at R jobs/s instead of the scenario's rate (the ramp ends there too)
 *   --redis tcp: the service reaches its Redis over loopback TCP (a shared Redis's way) instead of
 *                a unix socket (the private Redis's way, the default)
 *   --set WARMBOX_X=V: a setting for every warmbox process (e.g. WARMBOX_OVERLOAD_AGE_MS=0: no refusals)
 *   → bench/results/server-cpu[-NAME].{json,md} (and server-cpu-profile[-NAME].{md,svg})
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HOST_BUSYBOX } from '../images/builtin-images.js';
import { profileMarkdown, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { flameGraphSvg } from './lib/flame-svg.js';
import { measureLibraryFloors, type LibraryFloors } from './lib/library-floors.js';
import { JobClient, type JobSample } from './lib/open-loop.js';
import { setPoolBounds, settle } from './lib/pool-bounds.js';
import { machineCpuMs, processCpuMs } from './lib/proc-cpu.js';
import { commandCounts, commandsBetween } from './lib/redis-commands.js';
import { arrivalOffsetsMs, loadScenarios, type LoadShape } from './lib/scenarios.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { startService, type RedisTransport } from './lib/warmbox-process.js';
import { RESULTS_DIR, writeResults } from './lib/results.js';

const SCENARIO = 'sustained';
const BARE_ITERATIONS = 300;
/**
 * This process, which sends the load: it shares the machine's cores with the service, so a
 * throughput compared with the sandbox-creation ceiling (which has no client) says what it took.
 */
const LOAD_GENERATOR = 'load generator (this benchmark)';

interface ProcessCpu {
  role: string;
  cpuMs: number;
  perFinishedJobMs: number;
}

interface CpuReport {
  date: string;
  label: string;
  host: { cpus: number; node: string; kernel: string };
  topology: string;
  profiled: boolean;
  load: LoadShape;
  sent: number;
  accepted: number;
  refused: number;
  finished: number;
  failed: number;
  firstErrors: string[];
  acceptedLatencyMs: Summary;
  /** Finished jobs that found a parked sandbox (warm) or had one made for them (cold): cold starts make the tail. */
  starts: { warm: number; cold: number };
  finishedPerS: number;
  processes: ProcessCpu[];
  /**
   * The whole machine's busy CPU over the load per finished job (/proc/stat: the processes above,
   * the sandboxes, the launcher and the kernel's namespace work), and how busy it was: against
   * bench/sandbox-ceiling.ts's figure per sandbox, it says what the service adds to each sandbox.
   */
  machine: { busyMsPerFinishedJob: number; busyShare: number };
  /** Commands the Redis server ran over the measured load, per finished job, by command (INFO commandstats). */
  redisCommandsPerJob: { total: number; byCommand: { command: string; perJob: number }[] };
  /** fork + execve + waitpid of busybox true, no sandbox, per job (bench/native/forkexec.c). */
  bareForkExecMs: Summary;
  /** The CPU per job of warmbox's HTTP and queue libraries alone, at the same rate (bench/lib/library-floors.ts). */
  floors: LibraryFloors;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { label: { type: 'string' }, workers: { type: 'string' }, profile: { type: 'boolean' }, rate: { type: 'string' }, redis: { type: 'string' }, set: { type: 'string', multiple: true } } });
  const settings = Object.fromEntries((values.set ?? []).map((kv) => {
    const i = kv.indexOf('=');
    if (!kv.startsWith('WARMBOX_') || i < 0) throw new Error(`--set: expected WARMBOX_NAME=VALUE, got ${kv}`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const workers = Number(values.workers ?? 0);
  const redis = values.redis ?? 'unix';
  if (redis !== 'unix' && redis !== 'tcp') throw new Error(`--redis: expected unix or tcp, got ${redis}`);
  const profile = values.profile ?? false;
  const file = loadScenarios();
  const scenario = file.scenarios.find((s) => s.name === SCENARIO)!;
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  const load: LoadShape = rate === undefined ? scenario.load : { ...scenario.load, shape: 'constant', rate } as LoadShape;
  const warmup = scenario.warmup && rate !== undefined && scenario.warmup.shape === 'ramp' ? { ...scenario.warmup, toRate: rate } : scenario.warmup;

  const profDir = profile ? mkdtempSync(join(tmpdir(), 'warmbox-bench-prof-')) : undefined;
  if (profDir) process.env.WARMBOX_BENCH_SERVER_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${profDir}`;
  const bare = summarize(forkExecSamples(BARE_ITERATIONS, [HOST_BUSYBOX, 'true']));
  const service = await startService({ workers, env: settings, redis });
  const client = new JobClient(service.url);
  const body = JSON.stringify({ image: scenario.image, cmd: scenario.cmd });
  let samples: JobSample[];
  let wallMs: number;
  const pids: [string, number][] = [[workers > 0 ? 'api' : 'server (api + worker)', service.serverPid], ...(workers > 0 ? service.workerPids.map((p, i): [string, number] => [`worker ${i + 1}`, p]) : []), ['redis-server', service.redisPid], [LOAD_GENERATOR, process.pid]];
  let cpuMs: number[];
  let commands: { command: string; calls: number }[];
  let machineBefore: { busy: number; total: number };
  let machine: { busy: number; total: number };
  try {
    const bounds = file.poolBounds.warm;
    const set = await setPoolBounds(service, scenario.image, bounds);
    if (set.status !== 200) throw new Error(`PUT /v1/pools/${scenario.image}: HTTP ${set.status} ${JSON.stringify(set.json)}`);
    const image = (set.json as { image: string }).image;
    await settle(service, image, bounds, file.settleS * 1000);
    if (warmup) await client.run(arrivalOffsetsMs(warmup), body);
    const commandsBefore = await commandCounts(service.redisUrl);
    const before = pids.map(([, pid]) => processCpuMs(pid));
    machineBefore = machineCpuMs();
    console.error(`measuring ${describe(load)}`);
    ({ samples, wallMs } = await client.run(arrivalOffsetsMs(load), body));
    cpuMs = pids.map(([, pid], i) => processCpuMs(pid) - before[i]!);
    const machineAfter = machineCpuMs();
    machine = { busy: machineAfter.busy - machineBefore.busy, total: machineAfter.total - machineBefore.total };
    commands = commandsBetween(commandsBefore, await commandCounts(service.redisUrl));
  } finally {
    client.close();
    await service.stop();
  }

  const floors = await measureLibraryFloors(load.shape === 'constant' ? load.rate : load.toRate, load.durationS, body);
  const report = summarizeLoad(samples, wallMs, load, pids, cpuMs, bare, values.label ?? '', workers, redis, profile, floors);
  const perJob = (n: number) => round(n / Math.max(1, report.finished));
  report.machine = { busyMsPerFinishedJob: perJob(machine.busy), busyShare: round(machine.busy / machine.total) };
  report.redisCommandsPerJob = { total: perJob(commands.reduce((a, c) => a + c.calls, 0)), byCommand: commands.map((c) => ({ command: c.command, perJob: perJob(c.calls) })) };
  const suffix = values.label ? `-${values.label}` : '';
  const md = markdown(report);
  writeResults({ [`server-cpu${suffix}.json`]: report, [`server-cpu${suffix}.md`]: md });
  console.log(md);
  if (profDir) writeProfile(profDir, suffix, report);
}

function summarizeLoad(samples: JobSample[], wallMs: number, load: LoadShape, pids: [string, number][], cpuMs: number[], bare: Summary, label: string, workers: number, redis: RedisTransport, profiled: boolean, floors: LibraryFloors): CpuReport {
  // The Redis commands are filled in by the caller.
  const refused = samples.filter((s) => s.status === 503 && s.code === 'overloaded');
  const accepted = samples.filter((s) => !refused.includes(s) && (s.status === 200 || s.status === 202));
  const finished = accepted.filter((s) => s.status === 200 && s.verdict !== undefined);
  const failed = samples.filter((s) => !refused.includes(s) && (s.status !== 200 || s.verdict !== 'ok'));
  return {
    date: new Date().toISOString(),
    label,
    host: { cpus: cpus().length, node: process.versions.node, kernel: release() },
    topology: `${workers > 0 ? `an API process and ${workers} worker process(es)` : 'one process: the API and a worker'}, Redis over ${redis === 'unix' ? 'a unix socket' : 'loopback TCP'}`,
    profiled,
    load,
    sent: samples.length,
    accepted: accepted.length,
    refused: refused.length,
    finished: finished.length,
    failed: failed.length,
    firstErrors: [...new Set(failed.map((s) => s.error ?? `verdict ${s.verdict}`))].slice(0, 5),
    acceptedLatencyMs: summarize(accepted.map((s) => s.latencyMs)),
    starts: { warm: finished.filter((s) => s.start === 'warm').length, cold: finished.filter((s) => s.start === 'cold').length },
    finishedPerS: round(finished.length / (wallMs / 1000)),
    processes: pids.map(([role], i) => ({ role, cpuMs: round(cpuMs[i]!), perFinishedJobMs: round(cpuMs[i]! / Math.max(1, finished.length)) })),
    bareForkExecMs: bare,
    floors,
    redisCommandsPerJob: { total: 0, byCommand: [] },
    machine: { busyMsPerFinishedJob: 0, busyShare: 0 },
  };
}

function markdown(r: CpuReport): string {
  const l = r.acceptedLatencyMs;
  return [
    `# warmbox server CPU per job — ${r.date}${r.label ? ` (${r.label})` : ''}`,
    '',
    `${r.host.cpus} CPUs, Node ${r.host.node}, Linux ${r.host.kernel}; warmbox as ${r.topology}; the \`${SCENARIO}\` scenario's warm-up, then ${describe(r.load)} measured${r.profiled ? ' — **under --cpu-prof** (the profile costs CPU itself: compare unprofiled runs)' : ''}. ` +
      'CPU: user + system time of each process over the measured load (/proc/PID/stat), divided by the jobs that finished in it.',
    '',
    markdownTable(
      ['sent', 'accepted', 'refused (503 overloaded)', 'finished', 'cold starts', 'failed', 'finished/s', 'accepted p50 ms', 'p90', 'p99', 'max'],
      [[r.sent, r.accepted, r.refused, r.finished, r.starts.cold, r.failed, r.finishedPerS, l.p50, l.p90, l.p99, l.max]],
    ),
    '',
    markdownTable(['process', 'CPU ms over the load', 'CPU ms per finished job'], r.processes.map((p) => [p.role, p.cpuMs, p.perFinishedJobMs])),
    '',
    `The whole machine (/proc/stat: these processes, the sandboxes, the launcher, the kernel): ${r.machine.busyMsPerFinishedJob} ms of busy CPU per finished job, ${Math.round(r.machine.busyShare * 100)}% busy.`,
    '',
    `Redis commands per finished job: ${r.redisCommandsPerJob.total} (${r.redisCommandsPerJob.byCommand.slice(0, 10).map((c) => `${c.command} ${c.perJob}`).join(', ')}).`,
    '',
    `Bare baseline (fork + execve + waitpid of busybox true, no sandbox, ${r.bareForkExecMs.n} times): p50 ${r.bareForkExecMs.p50.toFixed(3)} ms, p99 ${r.bareForkExecMs.p99.toFixed(3)} ms per job.`,
    '',
    floorsLine(r),
    ...(r.firstErrors.length ? ['', `First errors: ${r.firstErrors.join('; ')}`] : []),
    '',
  ].join('\n');
}

/** The service's CPU per job beside what its HTTP and queue libraries alone cost at the same rate. */
function floorsLine(r: CpuReport): string {
  const { httpMsPerJob, queueMsPerJob } = r.floors;
  const service = r.processes.filter((p) => p.role !== 'redis-server' && p.role !== LOAD_GENERATOR).reduce((a, p) => a + p.perFinishedJobMs, 0);
  const floor = httpMsPerJob + queueMsPerJob;
  return `Library floors at the same rate, each alone in a process of its own: HTTP (hono + @hono/node-server + a validating route) ${httpMsPerJob.toFixed(2)} ms, ` +
    `queue (BullMQ add + a no-op Worker + completion) ${queueMsPerJob.toFixed(2)} ms of CPU per job; their sum ${floor.toFixed(2)} ms against warmbox's ` +
    `${service.toFixed(2)} ms (redis-server aside): ${(service / floor).toFixed(2)}x.`;
}

/** The server's .cpuprofile (written when it exits) → a Markdown summary and a flame graph. */
function writeProfile(profDir: string, suffix: string, r: CpuReport): void {
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${profDir}: did the server exit cleanly?`);
  // One process (the server) unless --workers: then the first file is as good as any; name them all.
  for (const [i, f] of files.entries()) {
    const summary = summarizeProfile(JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile);
    const name = `server-cpu-profile${suffix}${files.length > 1 ? `-${i + 1}` : ''}`;
    const title = `warmbox server under ${describe(r.load)} (${r.topology}), ${r.finished} jobs finished`;
    writeResults({
      [`${name}.md`]: `# CPU profile: ${title}\n\n${r.date}. \`node --cpu-prof\` over the whole process life (start-up, warm-up and the measured load).\n\n${profileMarkdown(summary)}\n`,
      [`${name}.svg`]: flameGraphSvg(summary.tree, `${title}: flame graph (self+children time, root at the bottom)`),
    });
    // The raw profile (for Chrome DevTools or speedscope) where results are not committed.
    mkdirSync(join(RESULTS_DIR, 'raw'), { recursive: true });
    renameSync(join(profDir, f), join(RESULTS_DIR, 'raw', `${name}.cpuprofile`));
    console.error(`wrote bench/results/${name}.{md,svg} and raw/${name}.cpuprofile`);
  }
  rmSync(profDir, { recursive: true, force: true });
}


function describe(s: LoadShape): string {
  return s.shape === 'constant' ? `${s.rate} jobs/s for ${s.durationS} s` : `${s.fromRate} → ${s.toRate} jobs/s over ${s.durationS} s`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
