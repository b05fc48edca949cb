/**
 * What warmbox adds to a program's run, end to end (README "What a run costs"): python `print(1)`
 * and a static C binary, each three ways, interleaved round by round so that the machine's drift
 * hits every way alike:
 *   warmbox     POST /v1/jobs?wait=true, one request at a time, warm sandboxes: the client's whole request
 *   bare        the same command as a host process spawned from Node with its output captured
 *               (what a judge without a sandbox does)
 *   fork+exec   the floor: fork + execve + waitpid in C of busybox `true` (bench/native/forkexec.c)
 * with the CPU time of each run (mean): the warmbox job's cgroup (`usage.cpuTimeMs`: the program and
 * the sandbox's exec of it) and the bare process's user + system time — a figure that a loaded machine
 * disturbs far less than latencies; then throughput: C clients each sending one request after
 * another for S seconds, beside C concurrent loops of the bare command.
 * The python image is the `python` recipe (Debian packages through the machine's mirror: minutes
 * the first time; `--data DIR` keeps the store for the next run). The C binary is compiled on this
 * host (static) and imported as an image with busybox. The bare python is the host's Debian
 * /usr/bin/python3, the same package as the image's.
 * Usage: node dist/bench/run-overhead.js [--rounds 200] [--seconds 10] [--clients 8] [--data DIR]
 *   → a table on stdout, bench/results/run-overhead.{json,md}
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HOST_BUSYBOX } from '../images/builtin-images.js';
import { encodeTar, tarEntriesOfDir } from '../images/store/layer-tar.js';
import { ociArchive } from '../test/helpers/host-gcc-image.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { closedLoops } from './lib/closed-loops.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { startService, type BenchService } from './lib/warmbox-process.js';
import { writeResults } from './lib/results.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '8' }, data: { type: 'string' } },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const C_IMAGE = 'localhost/warmbox-bench/c-print:1';
/** Debian's python, as in the image (a `python3` earlier in PATH may be a wrapper script, e.g. pyenv's shim). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const C_SOURCE = '#include <stdio.h>\nint main(void) { puts("1"); return 0; }\n';

/** One program, as a job and as a host command; both must print `1`. */
interface Program {
  name: string;
  job: { image: string; cmd: string[] };
  host: string[];
}

interface Measured {
  program: string;
  warmbox: Summary;
  warmboxServerTotal: Summary;
  bare: Summary;
  /** Mean CPU time of one run, ms: the job's cgroup, and the bare process (user + system). */
  cpu: { warmboxMs: number; bareMs: number };
  throughput: { clients: number; seconds: number; warmboxPerS: number; warmboxLatency: Summary; barePerS: number; failed: number };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'warmbox-bench-run-'));
  const service = await startService({ dataDir: args.data, env: { WARMBOX_LOG_LEVEL: 'warn' } });
  try {
    const binary = compileOnHost(work);
    await importImage(service, binary, work);
    await ensurePythonImage(service);
    const programs: Program[] = [
      { name: 'python `print(1)`', job: { image: 'python', cmd: ['python3', '-c', 'print(1)'] }, host: [DEBIAN_PYTHON, '-c', 'print(1)'] },
      { name: 'C binary (static, `puts("1")`)', job: { image: C_IMAGE, cmd: ['/print'] }, host: [binary] },
    ];
    const floorBefore = forkExecSamples(300, [HOST_BUSYBOX, 'true']);
    const measured: Measured[] = [];
    for (const p of programs) measured.push(await measure(service, p));
    const floor = summarize([...floorBefore, ...forkExecSamples(300, [HOST_BUSYBOX, 'true'])]);
    report(measured, floor);
  } finally {
    await service.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function compileOnHost(work: string): string {
  writeFileSync(join(work, 'print.c'), C_SOURCE);
  execFileSync('cc', ['-O2', '-static', '-s', '-o', join(work, 'print'), join(work, 'print.c')]);
  return join(work, 'print');
}

async function importImage(service: BenchService, binary: string, work: string): Promise<void> {
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync(HOST_BUSYBOX, join(rootfs, 'bin/busybox'));
  copyFileSync(binary, join(rootfs, 'print'));
  for (const f of ['bin/busybox', 'print']) chmodSync(join(rootfs, f), 0o755);
  const layer = encodeTar(await tarEntriesOfDir(rootfs, new Date('2020-01-01T00:00:00Z')));
  const archive = ociArchive(C_IMAGE, layer, { Env: ['PATH=/bin'], Cmd: ['/print'] });
  const res = await fetch(`${service.url}/v1/images/import?wait=true`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(archive) });
  if (res.status >= 300) throw new Error(`import: ${res.status} ${await res.text()}`);
}

/**
 * Builds the `python` recipe image unless the store has one whose bytecode is current (one built
 * before layers kept their files' mtimes compiles its start-up modules on every run: layer-tar.ts).
 */
async function ensurePythonImage(service: BenchService): Promise<void> {
  if ((await fetch(`${service.url}/v1/images/python`)).ok) {
    if (!(await pythonBytecodeIsStale(service))) return;
    console.error('the stored python image has stale bytecode (built before layers kept mtimes): building it again');
  }
  console.error('building the python image from Debian packages (minutes; --data DIR keeps it for the next run)');
  const res = await fetch(`${service.url}/v1/images/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'python' }) });
  const log = await res.text();
  if (!res.ok || !(await fetch(`${service.url}/v1/images/python`)).ok) throw new Error(`python image build failed (${res.status}):\n${log.slice(-2000)}`);
}

/** Whether python3 in the image compiles a module it imports at start from source: `-v` says so. */
async function pythonBytecodeIsStale(service: BenchService): Promise<boolean> {
  const res = await fetch(`${service.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'python', cmd: ['python3', '-v', '-c', 'pass'] }) });
  const body = (await res.json()) as { result?: { verdict: string; stderr: string } };
  if (res.status !== 200 || body.result?.verdict !== 'ok') throw new Error(`python3 -v in the python image: ${res.status} ${JSON.stringify(body).slice(0, 400)}`);
  return body.result.stderr.includes('bytecode is stale');
}

async function measure(service: BenchService, p: Program): Promise<Measured> {
  // Warm-up: the first jobs make the image's pool; then as many at once as the throughput phase sends.
  await closedLoops(CLIENTS, 2, () => job(service, p));
  const warmbox: number[] = [];
  const serverTotal: number[] = [];
  const bare: number[] = [];
  let warmboxCpu = 0;
  let bareCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const j = await timed(() => job(service, p));
    warmbox.push(j.ms);
    serverTotal.push(j.value.totalMs);
    warmboxCpu += j.value.cpuMs;
    const before = reapedChildrenCpuMs();
    bare.push((await timed(() => hostRun(p.host))).ms);
    bareCpu += reapedChildrenCpuMs() - before;
  }
  const load = await closedLoops(CLIENTS, SECONDS, () => job(service, p));
  const bareLoad = await closedLoops(CLIENTS, SECONDS, () => hostRun(p.host));
  return {
    program: p.name,
    warmbox: summarize(warmbox),
    warmboxServerTotal: summarize(serverTotal),
    bare: summarize(bare),
    cpu: { warmboxMs: warmboxCpu / ROUNDS, bareMs: bareCpu / ROUNDS },
    throughput: { clients: CLIENTS, seconds: SECONDS, warmboxPerS: load.ms.length / SECONDS, warmboxLatency: summarize(load.ms), barePerS: bareLoad.ms.length / SECONDS, failed: load.failed },
  };
}

/** One job, `?wait=true`; resolves with the server's own total time for it (queued to result) and its CPU time. */
async function job(service: BenchService, p: Program): Promise<{ totalMs: number; cpuMs: number }> {
  const res = await fetch(`${service.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(p.job) });
  const body = (await res.json()) as { result?: { verdict: string; stdout: string; timings: { totalMs: number }; usage: { cpuTimeMs: number } } };
  if (res.status !== 200 || body.result?.verdict !== 'ok' || body.result.stdout !== '1\n') throw new Error(`${p.name}: ${res.status} ${JSON.stringify(body).slice(0, 400)}`);
  return { totalMs: body.result.timings.totalMs, cpuMs: body.result.usage.cpuTimeMs };
}

/** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * The user + system time of this process's children that have been waited for (/proc/self/stat
 * cutime + cstime; the service's processes are not, until it stops). Node gives a child's rusage
 * nowhere else. In clock ticks, so only a sum over many runs is precise.
 */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, state
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
}

function hostRun(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 && out === '1\n' ? resolve(0) : reject(new Error(`${argv.join(' ')}: exit ${code}, ${JSON.stringify(out)}`))));
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}


function report(measured: Measured[], floor: Summary): void {
  const f = (n: number) => Number(n.toFixed(2));
  const latency = markdownTable(
    ['program', 'way', 'p50 ms', 'p90 ms', 'p99 ms', 'p50 − bare p50 (ms)', 'p50 / bare p50'],
    measured.flatMap((m) => [
      [m.program, 'warmbox, client request', f(m.warmbox.p50), f(m.warmbox.p90), f(m.warmbox.p99), f(m.warmbox.p50 - m.bare.p50), f(m.warmbox.p50 / m.bare.p50)],
      [m.program, 'warmbox, server total (queued → result)', f(m.warmboxServerTotal.p50), f(m.warmboxServerTotal.p90), f(m.warmboxServerTotal.p99), '', ''],
      [m.program, 'bare host process', f(m.bare.p50), f(m.bare.p90), f(m.bare.p99), 0, 1],
    ]),
  );
  const throughput = markdownTable(
    ['program', 'clients', 'warmbox jobs/s', 'p50 ms', 'p99 ms', 'failed', 'bare runs/s', 'warmbox / bare'],
    measured.map((m) => {
      const t = m.throughput;
      return [m.program, t.clients, f(t.warmboxPerS), f(t.warmboxLatency.p50), f(t.warmboxLatency.p99), t.failed, f(t.barePerS), f(t.warmboxPerS / t.barePerS)];
    }),
  );
  const cpu = markdownTable(
    ['program', 'warmbox job CPU ms (its cgroup)', 'bare process CPU ms (user + sys)', 'warmbox − bare (ms)'],
    measured.map((m) => [m.program, f(m.cpu.warmboxMs), f(m.cpu.bareMs), f(m.cpu.warmboxMs - m.cpu.bareMs)]),
  );
  const md = [
    `# What a run costs — ${new Date().toISOString()}`,
    '',
    `${cpus().length} CPUs, Node ${process.versions.node}, Linux ${release()}; ${ROUNDS} rounds, each one warmbox job then one bare run of each program; then ${CLIENTS} clients for ${SECONDS} s each way.`,
    '',
    latency,
    '',
    `CPU time of one run, the mean of the ${ROUNDS} rounds:`,
    '',
    cpu,
    '',
    throughput,
    '',
    `The floor (fork + execve + waitpid of busybox true, no sandbox, ${floor.n} times, before and after): p50 ${floor.p50.toFixed(3)} ms, p99 ${floor.p99.toFixed(3)} ms.`,
    '',
  ].join('\n');
  process.stdout.write(md);
  writeResults({ 'run-overhead.md': md, 'run-overhead.json': { date: new Date().toISOString(), rounds: ROUNDS, floor, measured } });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
