/**
 * Scale-out: does throughput hold as worker processes are added? For each database and each
 * count N, a service of an API process and N `warmbox worker` processes (bench/lib/warmbox-process.ts)
 * runs warm `true` jobs in busybox from CLIENTS closed loops (each sends its next job when the last
 * one is answered, so the service always has work) for SECONDS, after a warm-up. Reported: jobs
 * finished per second in all and per worker process, latency, and CPU per finished job of the API
 * process and of the workers together, beside the fork+exec floor measured in the same run.
 * On SQLite every process writes one file and waits in its busy handler; on Postgres they do not.
 *
 * Usage: node dist/bench/scale-out.js [--processes 1,2,3] [--database sqlite,postgres] [--clients 16] [--seconds 10]
 *   → a table on stdout, bench/results/scale-out.{json,md}
 */
import { cpus, release } from 'node:os';
import { parseArgs } from 'node:util';
import { HOST_BUSYBOX } from '../images/builtin-images.js';
import { forkExecSamples } from './lib/bare-baseline.js';
import { closedLoops } from './lib/closed-loops.js';
import { JobClient } from './lib/open-loop.js';
import { processCpuMs } from './lib/proc-cpu.js';
import { markdownTable, summarize, type Summary } from './lib/stats.js';
import { startService, type ServiceDatabase } from './lib/warmbox-process.js';
import { writeResults } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '1,2,3' },
    database: { type: 'string', default: 'sqlite,postgres' },
    clients: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
  },
});
const COUNTS = args.processes.split(',').map(Number);
const DATABASES = args.database.split(',') as ServiceDatabase[];
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const WARMUP_SECONDS = 3;
const JOB = JSON.stringify({ image: 'busybox', cmd: ['true'] });

interface Row {
  database: ServiceDatabase;
  workers: number;
  finished: number;
  failed: number;
  perSecond: number;
  latency: Summary;
  apiCpuMsPerJob: number;
  workersCpuMsPerJob: number;
}

async function main(): Promise<void> {
  for (const d of DATABASES) if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--database: sqlite or postgres, got ${d}`);
  const floorBefore = forkExecSamples(300, [HOST_BUSYBOX, 'true']);
  const rows: Row[] = [];
  // Interleaved: each count on each database in turn, so the machine's drift hits all alike.
  for (const workers of COUNTS) for (const database of DATABASES) rows.push(await measure(database, workers));
  const floor = summarize([...floorBefore, ...forkExecSamples(300, [HOST_BUSYBOX, 'true'])]);
  report(rows, floor);
}

async function measure(database: ServiceDatabase, workers: number): Promise<Row> {
  console.error(`${database}, ${workers} worker process(es)`);
  const service = await startService({ workers, database, env: { WARMBOX_OVERLOAD_AGE_MS: '0' } });
  const client = new JobClient(service.url);
  try {
    await closedLoops(CLIENTS, WARMUP_SECONDS, () => job(client));
    const pids = [service.serverPid, ...service.workerPids];
    const before = pids.map(processCpuMs);
    const load = await closedLoops(CLIENTS, SECONDS, () => job(client));
    const cpu = pids.map((pid, i) => processCpuMs(pid) - before[i]!);
    const finished = load.ms.length;
    return {
      database,
      workers,
      finished,
      failed: load.failed,
      perSecond: finished / SECONDS,
      latency: summarize(load.ms),
      apiCpuMsPerJob: cpu[0]! / finished,
      workersCpuMsPerJob: cpu.slice(1).reduce((a, b) => a + b, 0) / finished,
    };
  } finally {
    client.close();
    await service.stop();
  }
}

/** One warm job; throws unless it finished `ok`. */
async function job(client: JobClient): Promise<void> {
  const s = await client.send(JOB);
  if (s.status !== 200 || s.verdict !== 'ok') throw new Error(`a job failed: ${s.status} ${s.error ?? s.verdict}`);
}

function report(rows: Row[], floor: Summary): void {
  const f = (n: number) => Number(n.toFixed(2));
  const first = new Map(rows.filter((r) => r.workers === COUNTS[0]).map((r) => [r.database, r.perSecond]));
  const table = markdownTable(
    ['database', 'worker processes', 'finished', 'failed', 'jobs/s', 'jobs/s per process', `jobs/s ÷ with ${COUNTS[0]}`, 'p50 ms', 'p99 ms', 'API CPU ms/job', 'workers CPU ms/job'],
    rows.map((r) => [r.database, r.workers, r.finished, r.failed, f(r.perSecond), f(r.perSecond / r.workers), f(r.perSecond / (first.get(r.database) ?? NaN)), f(r.latency.p50), f(r.latency.p99), f(r.apiCpuMsPerJob), f(r.workersCpuMsPerJob)]),
  );
  const md = [
    `# Scale-out — ${new Date().toISOString()}`,
    '',
    `${cpus().length} CPUs, Node ${process.versions.node}, Linux ${release()}; an API process and N worker processes; ${CLIENTS} closed-loop clients of warm \`true\` for ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up.`,
    '',
    table,
    '',
    `The floor (fork + execve + waitpid of busybox true, ${floor.n} times, before and after): p50 ${floor.p50.toFixed(3)} ms, p99 ${floor.p99.toFixed(3)} ms.`,
    '',
  ].join('\n');
  process.stdout.write(md);
  writeResults({ 'scale-out.md': md, 'scale-out.json': { date: new Date().toISOString(), clients: CLIENTS, seconds: SECONDS, floor, rows } });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
