/**
 * A real `warmbox server` process, started as a user would: `node dist/cli/main.js server` with a
 * temporary data directory, a free loopback port and (unless told otherwise) a Redis of the test's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../contract/paths.js';

export const CLI = join(packageRoot(), 'dist/cli/main.js');

export interface TestServer {
  url: string;
  dataDir: string;
  process: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServerOptions {
  /** Undefined: the server's private Redis. */
  redisUrl?: string;
  env?: Record<string, string>;
  /** One the test prepared (it is removed at stop, as the temporary one is). */
  dataDir?: string;
  /**
   * In a process group of its own, as a shell starts it, so that the test can signal the whole
   * group (`process.kill(-pid, …)`) as Ctrl-C or a service manager does.
   */
  detached?: boolean;
  /** Where the server's output is written; default the data directory (a test that fills that disk puts it elsewhere). */
  logDir?: string;
  /** The address it listens on (default 127.0.0.1); the test reaches it on loopback either way. */
  listenHost?: string;
  /** The port it listens on (default a free one): a test that must name its URL before it starts (freePort()). */
  port?: number;
}

/** Starts the server and waits for /healthz. */
export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'warmbox-e2e-'));
  const port = opts.port ?? (await freePort());
  const logFile = join(opts.logDir ?? dataDir, `server-${Date.now()}.log`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    WARMBOX_DATA: dataDir,
    WARMBOX_LISTEN: `${opts.listenHost ?? '127.0.0.1'}:${port}`,
    WARMBOX_LOG_LEVEL: 'warn',
    ...(opts.redisUrl && { WARMBOX_REDIS_URL: opts.redisUrl }),
    ...opts.env,
  };
  const child = spawn(process.execPath, [CLI, 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const logWritten = once(log, 'finish');
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`warmbox server exited with ${code} before it was ready`);
  });
  exited.catch(() => {});
  try {
    await Promise.race([waitForHealth(url), exited]);
  } catch (err) {
    // A server that comes up after the deadline would keep the test process alive (its pipes) forever.
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM first: the server stops its private Redis and launcher itself.
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(killer);
    }
    // The log goes with the data directory: the error carries it.
    await logWritten;
    const output = readFileSync(logFile, 'utf8');
    if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}; its output:\n${output}`, { cause: err });
  }
  return {
    url,
    dataDir,
    process: child,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForHealth(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`warmbox server at ${url} not healthy after ${timeoutMs} ms`);
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(stdin ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
