/**
 * The private redis-server `warmbox server` runs when no WARMBOX_REDIS_URL is given: a unix
 * socket under the data directory, no TCP port, no persistence (the db is the record).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export class PrivateRedis {
  private constructor(
    private readonly child: ChildProcess,
    readonly socketPath: string,
  ) {}

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  static async start(dataDir: string, timeoutMs = 10_000): Promise<PrivateRedis> {
    const socketPath = join(dataDir, 'redis.sock');
    rmSync(socketPath, { force: true });
    const args = ['--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dataDir, '--loglevel', 'warning'];
    // setpriv --pdeathsig: the private Redis dies with the server, even one killed with SIGKILL.
    const [cmd, argv] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', 'redis-server', ...args]] : ['redis-server', args];
    const child = spawn(cmd, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()).slice(-4096));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}): run \`npm run setup\` to install it`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${stderr.trim()}`)));
    });
    const redis = new PrivateRedis(child, socketPath);
    try {
      await Promise.race([waitForPing(socketPath, timeoutMs), exited]);
    } catch (err) {
      await redis.stop();
      throw err;
    }
    return redis;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await gone;
  }
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
        // not accepting yet
      } finally {
        probe.disconnect();
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not accept connections on ${path} within ${timeoutMs} ms`);
}
