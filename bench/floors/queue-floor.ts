/**
 * The queue floor of the server CPU benchmark: BullMQ as warmbox uses it (a Queue, and a Worker
 * with concurrency 8 on its own connection, job id chosen by the caller, ioredis options from
 * server/redis-connection.ts: auto-pipelining on the enqueuing side, off on the Worker's, as warmbox has them) adding jobs at a fixed rate and processing each with a processor
 * that does nothing. Its own CPU per job (process.cpuUsage, over the measured phase only) is what
 * the queue alone costs a process that both enqueues and runs jobs, on this machine, in this run.
 *
 * Usage: node dist/bench/floors/queue-floor.js REDIS_URL RATE SECONDS → one line of JSON on stdout:
 *   { "jobs": N, "cpuMsPerJob": X }
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptions } from '../../server/redis-connection.js';

const [url, rateArg, secondsArg] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: queue-floor.js REDIS_URL RATE SECONDS');
const rate = Number(rateArg ?? 50);
const seconds = Number(secondsArg ?? 10);
const QUEUE = 'floor';

const queue = new Queue(QUEUE, { connection: new Redis(redisOptions(url)) });
const worker = new Worker(QUEUE, async () => ({ verdict: 'ok' }), { connection: new Redis(redisOptions(url, { autoPipelining: false })), concurrency: 8 });
const waiting = new Map<string, () => void>();
worker.on('completed', (job) => waiting.get(job.id!)?.());
let serial = 0;

/** `n` jobs added on a fixed schedule at `rate` per second; resolves when all have completed. */
async function phase(n: number): Promise<void> {
  const done: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = `floor-${process.pid}-${serial++}`;
    done.push(new Promise<void>((resolve) => waiting.set(id, resolve)));
    await queue.add('run', { image: 'busybox', cmd: ['true'] }, { jobId: id, removeOnComplete: true, removeOnFail: true });
  }
  await Promise.all(done);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await worker.waitUntilReady();
await phase(Math.min(100, rate * 2)); // warm-up: the JIT and the connections
const before = cpuMs();
const n = Math.round(rate * seconds);
await phase(n);
const perJob = (cpuMs() - before) / n;
console.log(JSON.stringify({ jobs: n, cpuMsPerJob: Math.round(perJob * 1000) / 1000 }));
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
process.exit(0);
