/**
 * A private redis-server for one test file: loopback only, on a free port (never 6379), no
 * persistence unless asked for (`aofDir`: an append-only file there, fsynced on every write). Stop it in `after()`; it is also killed if the test process exits first.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';

export interface TestRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.WARMBOX_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';
const READY_TIMEOUT_MS = 10_000;

export interface RedisOptions {
  /** Persist in an AOF in this directory (fsync always): a Redis that comes back with its data. */
  aofDir?: string;
  /** Appended to the defaults (and so overriding them), e.g. ['--maxmemory-policy', 'allkeys-lru']. */
  args?: string[];
}

export async function startRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  // Another process can take the port between our probe and redis' bind; try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(await freePort(), opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** A redis-server on a given port: e.g. the same Redis back after a test killed it. */
export function startRedisOn(port: number, opts: RedisOptions = {}): Promise<TestRedis> {
  return startOn(port, opts);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address from net.Server');
  return address.port;
}

async function startOn(port: number, opts: RedisOptions): Promise<TestRedis> {
  const persistence = opts.aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', opts.aofDir] : ['--appendonly', 'no', '--dir', tmpdir()];
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, ...(opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw err;
  }
  // Keep draining its output so that a full pipe never blocks it.
  child.stdout.resume();
  child.stderr.resume();

  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server has no pid');
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    pid,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}
