/**
 * A private PostgreSQL server for one test file, from Debian's packages (infra/setup.sh installs
 * `postgresql`; its binaries are found under /usr/lib/postgresql/<version>/bin, the newest): initdb
 * into a temporary directory, loopback on a free port (never 5432), its socket in that directory,
 * no fsync. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
 * (runuser). Stopped by the pid in its postmaster.pid; also killed if the test process exits first.
 * Each test takes a fresh database of it (`database()`).
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis.js';

export interface TestPostgres {
  readonly port: number;
  /** `postgres://warmbox@127.0.0.1:PORT/postgres`: the server's maintenance database. */
  readonly url: string;
  /** The postmaster's pid. */
  readonly pid: number;
  /** A new, empty database on this server; its URL (on `host`, default the listen address). */
  database(opts?: { host?: string }): Promise<string>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const SUPERUSER = 'warmbox';

/** The newest installed server's bin directory, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Runs a server binary as an unprivileged user when this process is root. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

export interface PostgresOptions {
  /** The address it listens on (default 127.0.0.1). */
  listenAddress?: string;
  /** How its server process is started (default child_process.spawn): e.g. inside a network namespace. */
  spawn?: (command: string, args: readonly string[], opts: SpawnOptions) => ChildProcess;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/postgres): run npm run setup');
  const dir = mkdtempSync(join(tmpdir(), 'warmbox-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const [initdb, initArgs] = asServerUser(join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  // initdb trusts 127.0.0.1 alone; a server listening on another loopback-range address (a test's
  // network namespace, test/helpers/netns-lan.ts) is reached from those addresses.
  appendFileSync(join(data, 'pg_hba.conf'), 'host all all 127.0.0.0/8 trust\n');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(bin, dir, data, await freePort(), opts);
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function startOn(bin: string, dir: string, data: string, port: number, opts: PostgresOptions): Promise<TestPostgres> {
  const listen = opts.listenAddress ?? '127.0.0.1';
  const settings = ['-c', `listen_addresses=${listen}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
  const [cmd, args] = asServerUser(join(bin, 'postgres'), ['-D', data, '-p', String(port), ...settings]);
  const child = (opts.spawn ?? spawn)(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `postgres://${SUPERUSER}@${listen}:${port}/postgres`;
  // The test's own connections go through the unix socket in `dir`: it is reachable whatever
  // network namespace the server listens in (the filesystem is shared).
  const local = (db: string) => `postgres://${SUPERUSER}@/${db}?host=${encodeURIComponent(dir)}&port=${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`postgres exited (${code}) before it was ready:\n${output}`))));
  exited.catch(() => undefined);
  await Promise.race([waitReady(local('postgres'), () => output), exited]);
  const pid = postmasterPid(data);
  const killOnExit = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  process.once('exit', killOnExit);
  let serial = 0;
  return {
    port,
    url,
    pid,
    async database(o = {}) {
      const name = `test_${process.pid}_${serial++}`;
      const client = new pg.Client({ connectionString: local('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${SUPERUSER}@${o.host ?? listen}:${port}/${name}`;
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown: clients are disconnected
      } catch {
        // gone already
      }
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`postgres not ready after ${READY_TIMEOUT_MS} ms:\n${output()}`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function postmasterPid(data: string): number {
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}
