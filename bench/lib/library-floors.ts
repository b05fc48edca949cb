/**
 * What warmbox's own libraries cost per job on this machine, in this run: the HTTP floor (hono on
 * @hono/node-server, one validating route: bench/floors/http-floor.ts) driven by the benchmark's
 * client at the measured rate, and the queue floor (BullMQ add + a no-op Worker + completion:
 * bench/floors/queue-floor.ts) at the same rate. Each runs in a process of its own, and its CPU is
 * read the way the service's is, so warmbox's CPU per job can be read as a multiple of the floor
 * its design starts from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../contract/paths.js';
import { startRedis } from '../../test/helpers/redis.js';
import { JobClient } from './open-loop.js';
import { processCpuMs } from './proc-cpu.js';

export interface LibraryFloors {
  /** CPU ms per request of the HTTP floor server. */
  httpMsPerJob: number;
  /** CPU ms per job of the queue floor process (enqueue and process in one). */
  queueMsPerJob: number;
}

const floorScript = (name: string) => join(packageRoot(), 'dist/bench/floors', name);

/** Both floors at `rate` jobs/s for `seconds`, one after the other; `body`: the job request the HTTP floor is sent (the scenario's). */
export async function measureLibraryFloors(rate: number, seconds: number, body: string): Promise<LibraryFloors> {
  return { httpMsPerJob: await httpFloor(rate, seconds, body), queueMsPerJob: await queueFloor(rate, seconds) };
}

async function httpFloor(rate: number, seconds: number, body: string): Promise<number> {
  const server = spawn(process.execPath, [floorScript('http-floor.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await firstLine(server, /^listening (\d+)$/);
    const client = new JobClient(`http://127.0.0.1:${port}`);
    const schedule = (n: number) => Array.from({ length: n }, (_, i) => (i * 1000) / rate);
    await client.run(schedule(Math.min(100, rate * 2)), body);
    const before = processCpuMs(server.pid!);
    const n = Math.round(rate * seconds);
    const { samples } = await client.run(schedule(n), body);
    const cpu = processCpuMs(server.pid!) - before;
    client.close();
    const failed = samples.filter((s) => s.status !== 200).length;
    if (failed > 0) throw new Error(`http floor: ${failed} of ${n} requests failed (${samples.find((s) => s.status !== 200)?.error})`);
    return cpu / n;
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

async function queueFloor(rate: number, seconds: number): Promise<number> {
  const redis = await startRedis();
  try {
    const floor = spawn(process.execPath, [floorScript('queue-floor.js'), redis.url, String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await firstLine(floor, /^(\{.*\})$/);
    if (floor.exitCode === null) await once(floor, 'exit');
    return (JSON.parse(line) as { cpuMsPerJob: number }).cpuMsPerJob;
  } finally {
    await redis.stop();
  }
}

/** The first capture of the first stdout line of `child` that matches `pattern`. */
async function firstLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  for await (const line of createInterface({ input: child.stdout! })) {
    const m = pattern.exec(line);
    if (m) return m[1]!;
  }
  // stdout ended (the process exited) without it.
  throw new Error(`${child.spawnargs.join(' ')} printed no line matching ${pattern} (exit ${child.exitCode})`);
}
