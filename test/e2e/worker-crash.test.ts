/**
 * Whatever process of a sandbox's chain dies — the worker, its launcher zygote, the sandbox's
 * supervisor or its init — every process of that sandbox dies within a bounded time, its cgroups
 * and namespaces (with its mounts) are gone, and a job whose worker is still alive gets a verdict
 * that says what died; the worker goes on running jobs. A worker that starts reaps what a dead
 * worker left.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setUpCgroups } from '../../runtime/cgroups.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import {
  cgroupProcs,
  DAEMON_JOB,
  eventually,
  isAlive,
  killLeftovers,
  processesWith,
  processRef,
  untilNothingLeft,
  waitForSandboxOf,
  type ProcessRef,
  type SandboxChain,
} from '../helpers/sandbox-processes.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
/** The test's server; stopped after each test, as every server takes jobs from the one Redis. */
let server: TestServer | undefined;

before(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
after(async () => {
  await redis?.stop();
});

/** Far above every wait below: a job still running when a wait ends was not stopped by the kill. */
const WALL_MS = 300_000;
const BOUND_MS = 30_000;

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  server = await startServer({ redisUrl: redis.url, env });
  return server;
}

function cgroupsOf(pid: number): string[] {
  return setUpCgroups().parents.flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => n.startsWith(`w${pid}-`)) : []));
}

async function submit(server: TestServer, cmd: string[], wait = false): Promise<any> {
  const res = await fetch(`${server.url}/v1/jobs${wait ? '?wait=true' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'busybox', cmd, limits: { wallTimeMs: wait ? 10_000 : WALL_MS } }),
  });
  assert.equal(res.status, wait ? 200 : 202, await res.clone().text());
  return res.json();
}

async function finished(server: TestServer, id: string): Promise<any> {
  let job: any;
  for (const deadline = Date.now() + BOUND_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    job = await (await fetch(`${server.url}/v1/jobs/${id}`)).json();
    if (job.status === 'finished') return job;
  }
  throw new Error(`job ${id} did not finish within ${BOUND_MS} ms of the kill: ${JSON.stringify(job)}`);
}

/** Runs a job that leaves a daemon, and returns its id and its sandbox's chain once all are up. */
async function daemonJob(server: TestServer, label: string): Promise<{ id: string; chain: SandboxChain }> {
  const marker = `warmbox-crash-${label}-${process.pid}-${Date.now()}`;
  const { id } = await submit(server, ['sh', '-c', DAEMON_JOB, marker]);
  return { id, chain: await waitForSandboxOf(marker, setUpCgroups().parents) };
}

describe('a worker killed with SIGKILL mid-job', () => {
  it('leaves no process, cgroup, namespace or mount of its sandboxes, and no process of their uid', async () => {
    const server = await start({ WARMBOX_SANDBOX_UID: '230000', WARMBOX_SANDBOX_UID_COUNT: '4' });
    const { chain } = await daemonJob(server, 'worker');
    const serverPid = server.process.pid!;
    assert.ok(cgroupsOf(serverPid).length > 0, 'the running job has cgroups');
    const zygote = processesWith(join(server.dataDir, 'run')).filter((pid) => pid === chain.zygote);
    assert.equal(zygote.length, 1, "the sandbox's zygote is the server's");
    try {
      server.process.kill('SIGKILL');
      await once(server.process, 'exit');

      await untilNothingLeft(chain, { mountPath: server.dataDir, uidIsPrivate: true }, BOUND_MS);
      await eventually(() => processesWith(join(server.dataDir, 'run')).length === 0, 'no zygote, supervisor or init of the dead worker runs', BOUND_MS);
      await eventually(() => cgroupsOf(serverPid).length === 0, 'its cgroups are removed', BOUND_MS);
    } finally {
      killLeftovers(chain);
    }
  });

  it('the next worker kills what a dead worker left in its cgroups, then removes them', async () => {
    // A dead worker's sandbox cgroup with a process in it, as if its launchers had died too; one
    // that holds 512 MiB takes a while to exit, so the cgroup stays busy for a moment after SIGKILL.
    const deadPid = 2 ** 22 - 7; // above any pid_max default: never alive
    const placement = setUpCgroups().placementFor(`w${deadPid}-1`);
    const dirs = placement.version === 'v1' ? [placement.memory, placement.pids, placement.cpuacct] : placement.version === 'v2' ? [placement.unified] : [];
    const holdMemory = "process.stdin.once('data', () => { globalThis.held = Buffer.alloc(512 << 20, 1); console.log('ready'); }); setInterval(() => {}, 1e9);";
    const straggler = spawn(process.execPath, ['-e', holdMemory], { stdio: ['pipe', 'pipe', 'ignore'] });
    let left: ProcessRef[] = [];
    try {
      for (const d of dirs) {
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, 'cgroup.procs'), String(straggler.pid));
      }
      straggler.stdin!.end('go\n');
      await once(straggler.stdout!, 'data');
      left = cgroupProcs(dirs[0]!).map(processRef).filter((p): p is ProcessRef => p !== undefined);
      await start();
      assert.deepEqual(cgroupsOf(deadPid), [], "the dead worker's cgroups are removed by the time the next worker is up");
      assert.deepEqual(left.filter(isAlive).map((p) => p.pid), [], 'the processes in them are dead');
    } finally {
      for (const p of left.filter(isAlive)) process.kill(p.pid, 'SIGKILL');
      straggler.kill('SIGKILL');
      for (const d of dirs) rmdirIfThere(d);
    }
  });
});

function rmdirIfThere(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // removed by the worker, as it should be
  }
}

describe('a process of the chain killed under a running job, its worker alive', () => {
  const says = {
    supervisor: /the sandbox's supervisor died/,
    init: /the sandbox's init died/,
    zygote: /the launcher zygote died/,
  };
  for (const target of ['supervisor', 'init', 'zygote'] as const) {
    it(`SIGKILL to the ${target}: the job ends internal_error saying so, nothing of the sandbox is left, the next job runs`, async () => {
      const server = await start();
      const { id, chain } = await daemonJob(server, target);
      try {
        process.kill(chain[target], 'SIGKILL');
        const job = await finished(server, id);
        assert.equal(job.result.verdict, 'internal_error', JSON.stringify(job.result));
        assert.match(job.result.error ?? '', says[target], JSON.stringify(job.result));
        await untilNothingLeft(chain, { mountPath: server.dataDir }, BOUND_MS);
      } finally {
        killLeftovers(chain);
      }
      const next = await submit(server, ['echo', 'next'], true);
      assert.equal(next.result.verdict, 'ok', JSON.stringify(next.result));
      assert.equal(next.result.stdout, 'next\n');
    });
  }
});
