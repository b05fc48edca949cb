/**
 * Several workers on one Redis: an API-only process and two worker-only processes (real
 * processes, real Redis, real sandboxes) sharing one data directory (SQLite db and image store).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, startServer, type TestServer } from '../helpers/warmbox-server.js';

const BUSYBOX = 'docker.io/library/busybox:latest';

interface WorkerProcess {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

let redis: TestRedis;
let dataDir: string;
let api: TestServer;
const workers: WorkerProcess[] = [];

/** `warmbox worker` as an operator starts it: no HTTP port, the shared Redis and data directory. */
function startWorker(): WorkerProcess {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    WARMBOX_DATA: dataDir,
    WARMBOX_REDIS_URL: redis.url,
    WARMBOX_PREWARM: '', // nothing parked at start: only demand warms a pool
    WARMBOX_LOG_LEVEL: 'warn',
  };
  const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dataDir, `worker-${child.pid}.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return {
    process: child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

before(async () => {
  redis = await startRedis();
  dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-cluster-'));
  api = await startServer({ redisUrl: redis.url, env: { WARMBOX_ROLE: 'api', WARMBOX_DATA: dataDir } });
  // One after the other: the first creates the built-in images in the shared store.
  for (let i = 0; i < 2; i++) {
    const w = startWorker();
    workers.push(w);
    await until(async () => (await listWorkers()).some((s: any) => s.pid === w.pid), `worker ${w.pid} listed`);
  }
});
after(async () => {
  for (const w of workers) await w.stop();
  await api?.stop(); // removes dataDir
  await redis?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function listWorkers(): Promise<any[]> {
  return (await (await fetch(`${api.url}/v1/pools`)).json()).workers;
}

function busyboxOf(worker: any): any {
  return worker.pools.find((p: any) => p.image === BUSYBOX);
}

async function until<T>(probe: () => Promise<T | false | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting until ${what}`);
}

async function runJob(): Promise<any> {
  const res = await fetch(`${api.url}/v1/jobs?wait=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd: ['true'] }) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
  return json.result;
}

/** Inodes of the TCP sockets this process listens on (state 0A in /proc/net/tcp{,6}). */
function listeningSockets(pid: number): string[] {
  const listening = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[9]) listening.add(cols[9]);
    }
  }
  const fdDir = `/proc/${pid}/fd`;
  return readdirSync(fdDir)
    .map((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(join(fdDir, fd)))?.[1];
      } catch {
        return undefined;
      }
    })
    .filter((inode): inode is string => inode !== undefined && listening.has(inode));
}

/** Launcher processes (the zygote and the sandboxes it forked) started for the worker with this pid. */
function launcherProcessesOf(workerPid: number): number[] {
  const socket = join(dataDir, 'run', String(workerPid), 'launcher.sock');
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(socket)) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Cgroup directories of sandboxes of this worker (named w<pid>-<n>), under every hierarchy. */
function cgroupsOf(workerPid: number): string[] {
  const found: string[] = [];
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  for (const root of roots) {
    const parent = join(root, 'warmbox');
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) if (name.startsWith(`w${workerPid}-`)) found.push(join(parent, name));
  }
  return found;
}

describe('several workers on one Redis', () => {
  it('lists both workers in GET /v1/pools, and a worker-only process listens on no TCP port', async () => {
    const listed = await listWorkers();
    assert.deepEqual(listed.map((w) => w.pid).sort(), workers.map((w) => w.pid).sort());
    for (const w of workers) assert.deepEqual(listeningSockets(w.pid), [], `worker ${w.pid} listens`);
  });

  it('after one job of an image, the demand broadcast leaves a parked sandbox of it on both workers', async () => {
    for (const w of await listWorkers()) assert.equal(busyboxOf(w)?.parked ?? 0, 0, 'nothing pre-warmed');
    await runJob(); // taken by one worker: a cold start there, and a broadcast to both
    await until(async () => {
      const listed = await listWorkers();
      return listed.length === 2 && listed.every((w) => busyboxOf(w)?.parked >= 1);
    }, 'both workers have a parked busybox sandbox');
  });

  it('serves the jobs of one image on both workers', async () => {
    const before = new Map((await listWorkers()).map((w) => [w.id, busyboxOf(w)?.claims ?? 0]));
    const results = await Promise.all(Array.from({ length: 24 }, () => runJob()));
    // Each worker's first claim finds the sandbox the broadcast parked; a burst of 24 outruns the refills.
    assert.ok(results.filter((r) => r.start === 'warm').length >= 2, JSON.stringify(results.map((r) => r.start)));
    await until(async () => {
      const listed = await listWorkers();
      const served = listed.map((w) => (busyboxOf(w)?.claims ?? 0) - (before.get(w.id) ?? 0));
      return served.reduce((a, b) => a + b, 0) === 24 && served.every((n) => n > 0) && served;
    }, 'both workers report claims of the 24 jobs');
  });

  it('a worker stopped with SIGTERM leaves no launcher process, no sandbox cgroup, and leaves the listing', async () => {
    const w = workers[0]!;
    await until(async () => launcherProcessesOf(w.pid).length > 1 && cgroupsOf(w.pid).length > 0, 'the worker has parked sandboxes');
    await w.stop();
    assert.equal(w.process.exitCode, 0);
    assert.deepEqual(launcherProcessesOf(w.pid), []);
    assert.deepEqual(cgroupsOf(w.pid), []);
    assert.ok(!(await listWorkers()).some((s) => s.pid === w.pid));
    assert.ok(!existsSync(join(dataDir, 'run', String(w.pid))), 'its run directory is removed');
    // The other worker still serves.
    assert.equal((await runJob()).verdict, 'ok');
  });
});
