/**
 * A real warmbox service for a benchmark, started as an operator would: a redis-server of its own
 * on a unix socket in the data directory, as `warmbox server`'s private Redis is (or, with
 * `redis: 'tcp'`, on a free loopback port, as a shared Redis is), and `node dist/cli/main.js
 * server` on a temporary data directory —
 * or, with `workers: N`, an API-only server and N `warmbox worker` processes beside it; with
 * `database: 'postgres'`, every process on a PostgreSQL server of its own (test/helpers/postgres.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { freePort } from '../../test/helpers/warmbox-server.js';

export interface BenchService {
  url: string;
  dataDir: string;
  logFile: string;
  serverPid: number;
  /** The service's redis-server, and where it listens. */
  redisPid: number;
  redisUrl: string;
  /** The processes that run jobs: the server itself, or the worker processes. */
  workerPids: number[];
  stop(): Promise<void>;
}

export type ServiceDatabase = 'sqlite' | 'postgres';

export interface ServiceOptions {
  /** 0: one process, the API and a worker (WARMBOX_ROLE=all); N: an API process and N worker processes. */
  workers?: number;
  /** More WARMBOX_* settings for every process. */
  env?: Record<string, string>;
  /** The db every process shares: the SQLite file in the data directory (default), or a PostgreSQL server of the benchmark's own. */
  database?: ServiceDatabase;
  /** A data directory to use and keep (a store with images built by an earlier run); default a temporary one, removed at stop. */
  dataDir?: string;
  /**
   * How the processes reach Redis: a unix socket (default, the private Redis's way) or loopback TCP
   * (a shared Redis's way; each write then runs the TCP stack, which costs CPU per command).
   */
  redis?: RedisTransport;
}

export type RedisTransport = 'unix' | 'tcp';

async function redisListener(transport: RedisTransport, dataDir: string): Promise<{ args: string[]; url: string }> {
  if (transport === 'tcp') {
    const port = await freePort();
    return { args: ['--port', String(port), '--bind', '127.0.0.1'], url: `redis://127.0.0.1:${port}` };
  }
  const socket = join(dataDir, 'bench-redis.sock');
  return { args: ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700'], url: `unix://${socket}` };
}

/** Starts Redis, the server (and workers), and waits until the API is healthy and every worker is listed. */
export async function startService(opts: ServiceOptions = {}): Promise<BenchService> {
  const workers = opts.workers ?? 0;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'warmbox-bench-http-'));
  mkdirSync(dataDir, { recursive: true }); // a --data DIR of a first run: the log below is written in it
  const logFile = join(dataDir, 'server.log');
  const log = createWriteStream(logFile);
  const children: ChildProcess[] = [];
  let postgres: TestPostgres | undefined;
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await postgres?.stop();
    if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { args: listen, url: redisUrl } = await redisListener(opts.redis ?? 'unix', dataDir);
    const redis = spawn('redis-server', [...listen, '--save', '', '--appendonly', 'no', '--dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(redis);
    // "Ready to accept connections tcp" on a port, "ready to accept connections at PATH" on a socket.
    await waitForOutput(redis, /ready to accept connections/i, 'redis-server');
    const port = await freePort();
    if (opts.database === 'postgres') postgres = await startPostgres();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      WARMBOX_DATA: dataDir,
      WARMBOX_REDIS_URL: redisUrl,
      ...(postgres && { WARMBOX_DATABASE_URL: await postgres.database() }),
      WARMBOX_LOG_LEVEL: 'warn',
      ...opts.env,
    };
    // e.g. WARMBOX_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the server side.
    const nodeArgs = (process.env.WARMBOX_BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const cli = (args: string[], extra: Record<string, string> = {}) => {
      const child = spawn(process.execPath, [...nodeArgs, join(packageRoot(), 'dist/cli/main.js'), ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      return child;
    };
    const server = cli(['server'], { WARMBOX_LISTEN: `127.0.0.1:${port}`, WARMBOX_ROLE: workers > 0 ? 'api' : 'all' });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, server, logFile);
    // One at a time: the first creates the built-in images in the shared store.
    const workerPids: number[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = cli(['worker']);
      await waitForWorkers(url, workerPids.length + 1, worker, logFile);
      workerPids.push(worker.pid!);
    }
    return { url, dataDir, logFile, serverPid: server.pid!, redisPid: redis.pid!, redisUrl: env.WARMBOX_REDIS_URL, workerPids: workers > 0 ? workerPids : [server.pid!], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForOutput(child: ChildProcess, marker: RegExp, name: string, timeoutMs = 10_000): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (marker.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => reject(new Error(`cannot start ${name}: ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
}

async function waitForWorkers(url: string, n: number, worker: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (worker.exitCode !== null) throw new Error(`warmbox worker exited with ${worker.exitCode}; see ${logFile}`);
    const view = (await (await fetch(`${url}/v1/pools`)).json()) as { workers: unknown[] };
    if (view.workers.length >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${n} warmbox worker(s) not listed in GET /v1/pools after ${timeoutMs} ms; see ${logFile}`);
}

async function waitForHealth(url: string, server: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`warmbox server exited with ${server.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`warmbox server at ${url} not healthy after ${timeoutMs} ms; see ${logFile}`);
}
