/**
 * The private redis-server `warmbox server` runs when no WARMBOX_REDIS_URL is given: a unix
 * socket under the data directory, no TCP port. Its data persists in `<data>/redis/` (AOF, fsync
 * every second), so the queue outlives a restart of the server; if it dies, it is started again
 * on the same socket and the server's clients reconnect to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Waits between restarts of a Redis that keeps dying: 100 ms, doubling, at most 5 s. */
const RESTART_BACKOFF_MS = { first: 100, max: 5000 };

export interface PrivateRedisEvents {
  /** It died unasked; a restart follows. */
  died(detail: string): void;
  restarted(): void;
  restartFailed(err: Error): void;
}

export class PrivateRedis {
  private child: ChildProcess;
  private stopping = false;
  private backoffMs = RESTART_BACKOFF_MS.first;
  private restartTimer: NodeJS.Timeout | undefined;

  private constructor(
    child: ChildProcess,
    readonly socketPath: string,
    private readonly dataDir: string,
    private readonly events: Partial<PrivateRedisEvents>,
  ) {
    this.child = child;
    this.watch(child);
  }

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  /** The running redis-server's pid (it changes when it is restarted). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(dataDir: string, events: Partial<PrivateRedisEvents> = {}, timeoutMs = 10_000): Promise<PrivateRedis> {
    const socketPath = join(dataDir, 'redis.sock');
    const child = await launch(dataDir, socketPath, timeoutMs);
    return new PrivateRedis(child, socketPath, dataDir, events);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM'); // redis-server writes and fsyncs its AOF before it exits
    await gone;
  }

  private watch(child: ChildProcess): void {
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.events.died?.(signal ? `killed by ${signal}` : `exited with code ${code}`);
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, RESTART_BACKOFF_MS.max);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      const child = await launch(this.dataDir, this.socketPath, 10_000);
      if (this.stopping) {
        child.kill('SIGTERM');
        return;
      }
      this.child = child;
      this.watch(child);
      this.backoffMs = RESTART_BACKOFF_MS.first;
      this.events.restarted?.();
    } catch (err) {
      this.events.restartFailed?.(err as Error);
      this.scheduleRestart();
    }
  }
}

/** Starts redis-server and waits until it answers PING. */
async function launch(dataDir: string, socketPath: string, timeoutMs: number): Promise<ChildProcess> {
  const redisDir = join(dataDir, 'redis');
  mkdirSync(redisDir, { recursive: true, mode: 0o700 });
  rmSync(socketPath, { force: true });
  const args = [
    '--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700',
    '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    // The queue must never drop a job to make room (the db would then hold a job no worker gets).
    '--maxmemory-policy', 'noeviction',
    '--loglevel', 'warning',
  ];
  // setpriv --pdeathsig: it dies with the server, even one killed with SIGKILL. `detached` puts it
  // in a process group of its own, so a signal to the server's whole group (Ctrl-C, systemd's
  // KillMode) reaches only the server, which then stops it last, after the queue is closed.
  const [cmd, argv] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', 'redis-server', ...args]] : ['redis-server', args];
  const child = spawn(cmd, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}): run \`npm run setup\` to install it`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${stderr.trim()}`)));
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPing(socketPath, timeoutMs), exited]);
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  return child;
}

async function waitForPing(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const probe = new Redis({ path, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        // not accepting yet (or still loading its AOF)
      } finally {
        probe.disconnect();
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not accept connections on ${path} within ${timeoutMs} ms`);
}
