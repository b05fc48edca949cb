/**
 * Workers on hosts of their own (README "Workers on many hosts"): a server (the API and a worker,
 * one job at a time) and a second `warmbox worker` process with its OWN data directory — its own
 * snapshot store and blob store — on the same Redis. Only the db file is shared (a symlink into the
 * server's data directory: the db is not the disk this is about). Nothing else of the server's disk
 * is visible to the second worker: what it lacks travels over HTTP (WARMBOX_API_URL, /internal/v1/blobs).
 *
 * Jobs are steered by keeping the other worker busy with a blocker job (a `sleep`), so each check
 * knows which process ran what; each process's log names the jobs it finished.
 *
 *   - an image imported through the server's API runs on the second worker (its archive fetched, imported there);
 *   - a job whose stdin is a blob uploaded to the API runs there (the blob fetched, verified);
 *   - a blob uploaded to a second API process reaches it too (the server's API asks its peer);
 *   - a judge run's build is captured on the second worker (its layer handed to the API) and its
 *     tests run on the server's worker, which admits the layer from the API's store; the run's
 *     removal of its build image reaches both stores;
 *   - a worker that was away when an image was removed untags it at its start instead of recording it back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { manyLayerArchive } from '../helpers/test-images.js';
import { CLI, freePort, startServer, type TestServer } from '../helpers/warmbox-server.js';

const TOKEN = randomBytes(24).toString('hex');
const IMPORTED = 'docker.io/remote/app:v1';

let redis: TestRedis;
let server: TestServer;
let worker: { process: ChildProcess; dataDir: string; logFile: string; stop(keepData?: boolean): Promise<void> } | undefined;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_CONCURRENCY: '1', WARMBOX_WORKER_TOKEN: TOKEN, WARMBOX_LOG_LEVEL: 'info', WARMBOX_PREWARM: '' } });
});
after(async () => {
  await worker?.stop();
  await server?.stop();
  await redis?.stop();
});

/** `warmbox worker` as a host of its own runs it: its own data directory, the API by URL. */
async function startOwnDiskWorker(existing?: string): Promise<NonNullable<typeof worker>> {
  const dataDir = existing ?? mkdtempSync(join(tmpdir(), 'warmbox-e2e-own-disk-'));
  if (existing === undefined) symlinkSync(join(server.dataDir, 'warmbox.db'), join(dataDir, 'warmbox.db'));
  const logFile = join(dataDir, `worker-${Date.now()}.log`);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    WARMBOX_ROLE: 'worker',
    WARMBOX_DATA: dataDir,
    WARMBOX_REDIS_URL: redis.url,
    WARMBOX_API_URL: server.url,
    WARMBOX_WORKER_TOKEN: TOKEN,
    WARMBOX_CONCURRENCY: '1',
    WARMBOX_PREWARM: '',
    WARMBOX_LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const w = {
    process: child,
    dataDir,
    logFile,
    async stop(keepData = false) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await until(async () => (await listWorkers()).some((s) => s.pid === child.pid), 'the second worker is listed');
  return w;
}

async function listWorkers(): Promise<{ pid: number }[]> {
  return ((await (await fetch(`${server.url}/v1/pools`)).json()) as { workers: { pid: number }[] }).workers;
}

async function until<T>(probe: () => Promise<T | false | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out: ${what}`);
}

async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  assert.ok(res.status < 300, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function statusOf(id: string): Promise<string> {
  return ((await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as { status: string }).status;
}

/** A job that holds a worker's only slot until it is cancelled; returns its id once it runs. */
async function blocker(): Promise<string> {
  const { id } = await post('/v1/jobs', { image: 'busybox', cmd: ['sleep', '100'], limits: { wallTimeMs: 110_000, cpuTimeMs: 1000 } });
  await until(async () => (await statusOf(id)) === 'running', `blocker ${id} runs`);
  return id;
}

async function cancel(id: string): Promise<void> {
  await fetch(`${server.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
  await until(async () => (await statusOf(id)) === 'finished', `blocker ${id} ends`);
}

/** The ids of the jobs a process finished, from its log (one JSON line per job: worker/job-runner.ts). */
function jobsFinishedIn(logFile: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"job finished"')) continue;
    const entry = JSON.parse(line) as { job?: string };
    if (entry.job !== undefined) ids.add(entry.job);
  }
  return ids;
}

/** The process's log names the job as finished (its output reaches the file a little after the answer). */
async function ranIn(logFile: string, id: string, what: string): Promise<void> {
  await until(async () => jobsFinishedIn(logFile).has(id), what, 10_000);
}

async function runJob(body: unknown): Promise<any> {
  return post('/v1/jobs?wait=true&timeout=60000', body);
}

describe('a worker with a data directory of its own', () => {
  let serverBlocker: string;
  let blob: string;

  before(async () => {
    // Made through the server's API (and its worker) before the second worker exists.
    const res = await fetch(`${server.url}/v1/images/import`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(await manyLayerArchive(2, IMPORTED)) });
    assert.equal(res.status, 201, await res.text());
    const stdin = Buffer.from('stdin from a blob of the API\n');
    blob = ((await (await fetch(`${server.url}/v1/blobs`, { method: 'POST', body: new Uint8Array(stdin) })).json()) as { digest: string }).digest;
    assert.equal(blob, `sha256:${createHash('sha256').update(stdin).digest('hex')}`);
    // The server's worker is kept busy: what is queued now goes to the second worker.
    serverBlocker = await blocker();
    worker = await startOwnDiskWorker();
  });

  it('runs an image imported through the API: the archive fetched from the API and imported in its own store', { timeout: 120_000 }, async () => {
    assert.ok(!existsSync(join(worker!.dataDir, 'store', 'refs', 'docker.io', 'remote')), 'the second worker starts without the image');
    const job = await runJob({ image: IMPORTED, cmd: ['cat', '/layers/bottom', '/layers/top', '/layers/which'] });
    assert.equal(job.result.verdict, 'ok', JSON.stringify(job.result));
    assert.equal(job.result.stdout, 'bottom layer\ntop layer\n1\n');
    await ranIn(worker!.logFile, job.id, 'the second worker ran it');
    const images = ((await (await fetch(`${server.url}/v1/images`)).json()) as { images: { reference: string }[] }).images;
    assert.ok(images.some((i) => i.reference === IMPORTED), 'the image is still listed once');
  });

  it('runs a job whose stdin is a blob uploaded to the API: fetched into its own blob store, verified', { timeout: 60_000 }, async () => {
    assert.ok(!existsSync(join(worker!.dataDir, 'blobs', 'sha256', blob.slice(7))), 'the second worker starts without the blob');
    const job = await runJob({ image: 'busybox', cmd: ['cat'], stdin: { blob } });
    assert.equal(job.result.verdict, 'ok', JSON.stringify(job.result));
    assert.equal(job.result.stdout, 'stdin from a blob of the API\n');
    await ranIn(worker!.logFile, job.id, 'the second worker ran it');
    assert.ok(existsSync(join(worker!.dataDir, 'blobs', 'sha256', blob.slice(7))), 'the blob is in its own store now');
  });

  it('fetches a blob uploaded to another API process: the API asks its peers (WARMBOX_ADVERTISE_URL)', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const peerData = mkdtempSync(join(tmpdir(), 'warmbox-e2e-peer-api-'));
    symlinkSync(join(server.dataDir, 'warmbox.db'), join(peerData, 'warmbox.db'));
    const peer = await startServer({
      redisUrl: redis.url,
      dataDir: peerData,
      port,
      env: { WARMBOX_ROLE: 'api', WARMBOX_WORKER_TOKEN: TOKEN, WARMBOX_ADVERTISE_URL: `http://127.0.0.1:${port}` },
    });
    try {
      const stdin = Buffer.from('uploaded to the other API process\n');
      const res = await fetch(`${peer.url}/v1/blobs`, { method: 'POST', body: new Uint8Array(stdin) });
      const { digest } = (await res.json()) as { digest: string };
      assert.equal(res.status, 201);
      // The second worker asks the server's API (its WARMBOX_API_URL), which lacks it and asks its peer.
      const job = await runJob({ image: 'busybox', cmd: ['cat'], stdin: { blob: digest } });
      assert.equal(job.result.verdict, 'ok', JSON.stringify(job.result));
      assert.equal(job.result.stdout, stdin.toString());
      await ranIn(worker!.logFile, job.id, 'the second worker ran it');
      const got = await fetch(`${server.url}/v1/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(await got.text(), stdin.toString(), "a tenant reads it from either API process");
    } finally {
      await peer.stop();
    }
  });

  it("captures a judge build on the second worker and runs the tests on the server's worker", { timeout: 180_000 }, async () => {
    // The build sleeps (5 s): time to queue a blocker behind it, which the second worker takes next.
    const run = await post('/v1/judge', {
      image: 'busybox',
      build: ['sh', '-c', "sleep 5; { echo '#!/bin/sh'; echo 'read a b; echo $((a + b))'; } > prog && chmod 755 prog && echo compiled >&2"],
      run: ['./prog'],
      limits: { wallTimeMs: 5000, cpuTimeMs: 2000 },
      buildLimits: { wallTimeMs: 30_000, cpuTimeMs: 10_000 },
      tests: [{ stdin: '2 3\n', expected: '5\n' }, { stdin: '20 22\n', expected: '42\n' }, { stdin: '1 1\n', expected: '3\n' }],
    });
    const jobsOf = async (): Promise<any[]> => ((await (await fetch(`${server.url}/v1/jobs?label=warmbox.judge=${run.id}&limit=100`)).json()) as { jobs: any[] }).jobs;
    await until(async () => (await jobsOf()).some((j) => j.status === 'running'), 'the build runs');
    const { id: workerBlocker } = await post('/v1/jobs', { image: 'busybox', cmd: ['sleep', '100'], limits: { wallTimeMs: 110_000, cpuTimeMs: 1000 } });
    await until(async () => (await statusOf(workerBlocker)) === 'running', 'the second worker took its blocker after the build');
    await cancel(serverBlocker); // the server's worker is free for the tests
    const done = await until(async () => {
      const view = await (await fetch(`${server.url}/v1/judge/${run.id}`)).json();
      return view.status === 'finished' && view;
    }, 'the judge run finishes', 120_000);
    await cancel(workerBlocker);

    assert.equal(done.build.verdict, 'ok', JSON.stringify(done.build));
    assert.deepEqual(done.tests.map((t: any) => t.verdict), ['accepted', 'accepted', 'wrong_answer'], JSON.stringify(done.tests));
    const buildJob = (await jobsOf()).find((j) => !done.tests.some((t: any) => t.jobId === j.id));
    await ranIn(worker!.logFile, buildJob.id, 'the second worker captured the build');
    for (const t of done.tests) await ranIn(server.logFile, t.jobId, `test ${t.jobId} ran on the server's worker`);
    // The layer reached the server through the API's blob store (the second worker handed it on over HTTP).
    const layerHex = (done.build.layer as string).slice(7);
    assert.match(layerHex, /^[0-9a-f]{64}$/);
    assert.ok(readdirSync(join(server.dataDir, 'blobs', 'sha256')).length >= 3, "the build image's manifest, config and layer are in the API's blob store");
    // The run removes its build image; a removal performed on one host reaches the other's store.
    const buildTags = (dataDir: string): string[] => readdirSync(join(dataDir, 'store', 'refs', 'warmbox.internal', 'judge-build'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    await until(async () => buildTags(worker!.dataDir).length === 0 && buildTags(server.dataDir).length === 0, 'the build image is untagged on both hosts', 20_000);
  });

  it('a worker that was away when an image was removed untags its copy at its start, and the db stays without it', { timeout: 60_000 }, async () => {
    const imported = join(worker!.dataDir, 'store', 'refs', 'docker.io', 'remote', 'app');
    assert.ok(existsSync(imported), 'the second worker holds the imported image (the first test)');
    const dataDir = worker!.dataDir;
    await worker!.stop(true);
    const res = await fetch(`${server.url}/v1/images/${encodeURIComponent(IMPORTED)}`, { method: 'DELETE' });
    assert.equal(res.status, 204, await res.text());
    worker = await startOwnDiskWorker(dataDir);
    const tags = readdirSync(imported, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.deepEqual(tags, [], 'untagged at its start');
    const images = ((await (await fetch(`${server.url}/v1/images`)).json()) as { images: { reference: string }[] }).images;
    assert.ok(!images.some((i) => i.reference === IMPORTED), 'not recorded back into the db');
  });
});
