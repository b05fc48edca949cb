/**
 * Stopping `warmbox server` (README "Stopping"): SIGTERM or SIGINT, to the server or to its whole
 * process group (Ctrl-C, a service manager), stops taking jobs at once (503 + Retry-After), lets
 * running jobs finish within the grace period, returns jobs not yet started to the queue, kills
 * and records `lost` what outlives the grace, and exits 0 leaving no process, mount or cgroup. A
 * second signal exits at once (128 + the signal), still leaving nothing, its running jobs `lost`.
 * After a restart on the same data directory, every accepted job reaches a final state, once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { outputStreamKey } from '../../queue/redis-keys.js';
import { exitOf, leftoversAfter, type ServerTraces } from '../helpers/server-leftovers.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

/** A bound on a hang (never reached when things work), not on speed. */
const BOUND_MS = 120_000;
const UID_BASE = 234_000;
/** More than the parked sandboxes (WARMBOX_POOL_MAX below) and running jobs together: each live sandbox holds one. */
const UID_COUNT = 16;
const UIDS = Array.from({ length: UID_COUNT }, (_, i) => UID_BASE + i);

/** Servers a failed test may have left running, and data directories to remove. */
let children: ChildProcess[] = [];
let dataDirs: string[] = [];

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  dataDirs = [];
});

async function start(env: Record<string, string>, opts: { dataDir?: string; detached?: boolean } = {}): Promise<TestServer> {
  const server = await startServer({
    ...opts,
    env: { WARMBOX_SANDBOX_UID: String(UID_BASE), WARMBOX_SANDBOX_UID_COUNT: String(UID_COUNT), WARMBOX_POOL_MAX: '4', WARMBOX_LOG_LEVEL: 'info', ...env },
  });
  children.push(server.process);
  if (!dataDirs.includes(server.dataDir)) dataDirs.push(server.dataDir);
  return server;
}

function traces(server: TestServer): ServerTraces {
  return { dataDir: server.dataDir, pid: server.process.pid!, uids: UIDS };
}

/** A job that says it started (in its output stream, which counts its runs), then works for `seconds`. */
async function submit(server: TestServer, seconds: number, wallTimeMs = 60_000): Promise<string> {
  const res = await fetch(`${server.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'busybox', cmd: ['sh', '-c', `echo started; sleep ${seconds}; echo done`], limits: { wallTimeMs } }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

interface JobView {
  id: string;
  status: string;
  result?: { verdict: string; error?: string; stdout: string };
}

async function job(server: TestServer, id: string): Promise<JobView> {
  return (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as JobView;
}

async function untilFinished(server: TestServer, ids: string[]): Promise<JobView[]> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const jobs = await Promise.all(ids.map((id) => job(server, id)));
    const open = jobs.filter((j) => j.status !== 'finished');
    if (open.length === 0) return jobs;
    if (Date.now() > deadline) throw new Error(`${open.length} jobs not finished within ${BOUND_MS} ms: ${JSON.stringify(open.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function untilSomeFinished(server: TestServer, ids: string[], n: number): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while ((await Promise.all(ids.map((id) => job(server, id)))).filter((j) => j.status === 'finished').length < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} jobs finished within ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilRunning(server: TestServer, ids: string[]): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const jobs = await Promise.all(ids.map((id) => job(server, id)));
    const done = jobs.find((j) => j.status === 'finished');
    if (done) throw new Error(`job ${done.id} ended before the stop: ${JSON.stringify(done.result)}; see ${server.logFile}`);
    if (jobs.every((j) => j.status === 'running')) return;
    if (Date.now() > deadline) throw new Error(`jobs not all running within ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Submits until the server refuses with 503 shutting_down (the signal is handled a moment after
 * it is sent): a job accepted meanwhile joins `ids`, as every accepted job must reach a verdict.
 */
async function untilRefused(server: TestServer, ids: string[]): Promise<Response> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const res = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'busybox', cmd: ['sh', '-c', 'echo started'] }),
    });
    if (res.status !== 202) return res;
    ids.push(((await res.json()) as { id: string }).id);
    if (Date.now() > deadline) throw new Error(`submissions still accepted ${BOUND_MS} ms after the signal`);
  }
}

/** How many times each job reached its sandbox: the `started` lines in its output stream (kept in the private Redis's AOF). */
async function runsOf(server: TestServer, ids: string[]): Promise<Map<string, number>> {
  const redis = new Redis({ path: join(server.dataDir, 'redis.sock') });
  try {
    const runs = new Map<string, number>();
    for (const id of ids) {
      const entries = await redis.xrange(outputStreamKey(id), '-', '+');
      const out = entries.map(([, fields]) => fields[fields.indexOf('d') + 1] ?? '').join('');
      runs.set(id, out.split('started').length - 1);
    }
    return runs;
  } finally {
    redis.disconnect();
  }
}

interface Tally {
  accepted: number;
  finished: number;
  lost: number;
  runTwice: number;
  neverRan: number;
  leftovers: number;
}

async function tally(server: TestServer, ids: string[], left: string[]): Promise<{ tally: Tally; jobs: JobView[] }> {
  const jobs = await untilFinished(server, ids);
  const runs = await runsOf(server, ids);
  const t: Tally = {
    accepted: ids.length,
    finished: jobs.length,
    lost: jobs.filter((j) => j.result?.verdict === 'lost').length,
    runTwice: [...runs.values()].filter((n) => n > 1).length,
    neverRan: [...runs.values()].filter((n) => n === 0).length,
    leftovers: left.length,
  };
  console.log(`# ${JSON.stringify(t)}`);
  return { tally: t, jobs };
}

describe('e2e: stopping the server', () => {
  it('SIGTERM under load: new submissions 503, running jobs finish, exit 0, nothing left; after a restart every job ran exactly once', async () => {
    const first = await start({ WARMBOX_CONCURRENCY: '2', WARMBOX_STOP_GRACE_MS: '60000' });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await submit(first, i % 5 === 0 ? 1 : 0));
    await untilSomeFinished(first, ids, 3);

    const t0 = performance.now();
    first.process.kill('SIGTERM');
    const exited = exitOf(first.process, t0);
    const during = await untilRefused(first, ids);
    assert.equal(during.status, 503, 'a submission during the stop is refused');
    assert.equal(((await during.json()) as { error: { code: string } }).error.code, 'shutting_down');
    assert.ok(Number(during.headers.get('retry-after')) > 0, 'with Retry-After');
    const exit = await exited;
    console.log(`# SIGTERM under load → exit ${exit.code} in ${exit.ms} ms`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    const left = await leftoversAfter(traces(first), 10_000);

    const second = await start({ WARMBOX_CONCURRENCY: '2' }, { dataDir: first.dataDir });
    const { tally: t, jobs } = await tally(second, ids, left);
    assert.deepEqual(left, [], 'nothing of the stopped server is left');
    assert.deepEqual(jobs.filter((j) => j.result?.verdict !== 'ok').map((j) => j.result), [], 'every job ends ok');
    assert.deepEqual(t, { accepted: ids.length, finished: ids.length, lost: 0, runTwice: 0, neverRan: 0, leftovers: 0 });
  });

  it('SIGINT to the whole process group (Ctrl-C): its sandboxes survive it, running jobs finish ok, exit 0, nothing left', async () => {
    const first = await start({ WARMBOX_CONCURRENCY: '2', WARMBOX_STOP_GRACE_MS: '60000' }, { detached: true });
    const running = [await submit(first, 2), await submit(first, 2)];
    const queued = [await submit(first, 0), await submit(first, 0), await submit(first, 0)];
    await untilRunning(first, running);

    const t0 = performance.now();
    process.kill(-first.process.pid!, 'SIGINT');
    const exit = await exitOf(first.process, t0);
    console.log(`# SIGINT to the group → exit ${exit.code} in ${exit.ms} ms`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    const left = await leftoversAfter(traces(first), 10_000);

    const second = await start({ WARMBOX_CONCURRENCY: '2' }, { dataDir: first.dataDir });
    const ids = [...running, ...queued];
    const { tally: t, jobs } = await tally(second, ids, left);
    assert.deepEqual(left, []);
    for (const j of jobs) assert.equal(j.result?.verdict, 'ok', `${j.id}: ${JSON.stringify(j.result)}`);
    assert.deepEqual(t, { accepted: 5, finished: 5, lost: 0, runTwice: 0, neverRan: 0, leftovers: 0 });
  });

  it('a job longer than the grace period ends lost, saying why; the job queued behind it runs after the restart', async () => {
    const first = await start({ WARMBOX_CONCURRENCY: '1', WARMBOX_STOP_GRACE_MS: '1500' });
    const long = await submit(first, 100, 120_000);
    const behind = await submit(first, 0);
    await untilRunning(first, [long]);

    const t0 = performance.now();
    first.process.kill('SIGTERM');
    const exit = await exitOf(first.process, t0);
    console.log(`# SIGTERM with a job longer than the 1500 ms grace → exit ${exit.code} in ${exit.ms} ms`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    const left = await leftoversAfter(traces(first), 10_000);

    const second = await start({ WARMBOX_CONCURRENCY: '1' }, { dataDir: first.dataDir });
    const { tally: t, jobs } = await tally(second, [long, behind], left);
    assert.deepEqual(left, []);
    assert.equal(jobs[0]!.result?.verdict, 'lost', JSON.stringify(jobs[0]));
    assert.match(jobs[0]!.result?.error ?? '', /stopped after its grace period of 1500 ms/);
    assert.equal(jobs[1]!.result?.verdict, 'ok', JSON.stringify(jobs[1]));
    assert.deepEqual(t, { accepted: 2, finished: 2, lost: 1, runTwice: 0, neverRan: 0, leftovers: 0 });
  });

  it('a second signal during the stop exits at once (143), kills every sandbox, records its job lost, leaves nothing', async () => {
    const first = await start({ WARMBOX_CONCURRENCY: '2', WARMBOX_STOP_GRACE_MS: '600000' }, { detached: true });
    const running = [await submit(first, 100, 120_000), await submit(first, 100, 120_000)];
    const queued = await submit(first, 0);
    await untilRunning(first, running);

    const t0 = performance.now();
    process.kill(-first.process.pid!, 'SIGTERM');
    const exited = exitOf(first.process, t0);
    const ids = [...running, queued];
    assert.equal((await untilRefused(first, ids)).status, 503, 'the stop has begun');
    const t1 = performance.now();
    process.kill(-first.process.pid!, 'SIGTERM');
    const exit = await exited;
    console.log(`# second SIGTERM → exit ${exit.code} ${Math.round(performance.now() - t1)} ms after it`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 143, signal: null });
    const left = await leftoversAfter(traces(first), 10_000);

    const second = await start({ WARMBOX_CONCURRENCY: '2' }, { dataDir: first.dataDir });
    const { tally: t, jobs } = await tally(second, ids, left);
    assert.deepEqual(left, []);
    for (const j of jobs.slice(0, 2)) {
      assert.equal(j.result?.verdict, 'lost', JSON.stringify(j));
      assert.match(j.result?.error ?? '', /stopped at once/);
    }
    for (const j of jobs.slice(2)) assert.equal(j.result?.verdict, 'ok', 'the queued jobs run after the restart');
    assert.deepEqual(t, { accepted: ids.length, finished: ids.length, lost: 2, runTwice: 0, neverRan: 0, leftovers: 0 });
  });
});
