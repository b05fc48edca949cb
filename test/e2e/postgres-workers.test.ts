/**
 * One Postgres for several processes: a server (`warmbox server`, API and worker) and a separate
 * `warmbox worker`, each with its own data directory (no shared disk: no SQLite file between
 * them), on one Redis and one Postgres (WARMBOX_DATABASE_URL). Jobs submitted to the server run
 * on both, each finishes ok, and none is started twice (the queued → running claim is Postgres's).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runTwice } from '../helpers/job-outcomes.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

const JOBS = 24;

let postgres: TestPostgres;
let databaseUrl: string;
let redis: TestRedis;
let server: TestServer;
let worker: { process: ChildProcess; dataDir: string; logFile: string };

function startWorker(): typeof worker {
  const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-pg-worker-'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    WARMBOX_DATA: dataDir,
    WARMBOX_REDIS_URL: redis.url,
    WARMBOX_DATABASE_URL: databaseUrl,
    WARMBOX_LOG_LEVEL: 'debug',
  };
  const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = join(dataDir, 'worker.log');
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return { process: child, dataDir, logFile };
}

before(async () => {
  postgres = await startPostgres();
  databaseUrl = await postgres.database();
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_DATABASE_URL: databaseUrl, WARMBOX_LOG_LEVEL: 'debug' } });
  worker = startWorker();
  await until(async () => {
    const { workers } = (await (await fetch(`${server.url}/v1/pools`)).json()) as { workers: { pid: number }[] };
    return workers.some((w) => w.pid === worker.process.pid);
  }, 'the worker process is listed');
});

after(async () => {
  if (worker && worker.process.exitCode === null && worker.process.signalCode === null) {
    worker.process.kill('SIGTERM');
    await once(worker.process, 'exit');
  }
  if (worker) rmSync(worker.dataDir, { recursive: true, force: true });
  await server?.stop();
  await redis?.stop();
  await postgres?.stop();
});

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if (await probe()) return;
  }
  assert.fail(`timed out waiting until ${what}`);
}

function startedIn(logFile: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line.includes('"job started"')) ids.add((JSON.parse(line) as { job: string }).job);
  }
  return ids;
}

describe('a server and a worker process on one Postgres', () => {
  it('run the jobs between them, each once, with nothing in a SQLite file', async () => {
    const ids = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const res = await fetch(`${server.url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: 'busybox', cmd: ['sh', '-c', `sleep 0.3; echo job ${i}`], labels: { n: String(i) } }),
        });
        assert.equal(res.status, 202, await res.clone().text());
        return ((await res.json()) as { id: string }).id;
      }),
    );
    const results = new Map<string, { status: string; result?: { verdict: string; stdout: string } }>();
    await until(async () => {
      for (const id of ids) {
        if (results.get(id)?.status === 'finished') continue;
        results.set(id, (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as { status: string });
      }
      return [...results.values()].every((j) => j.status === 'finished');
    }, `${JOBS} jobs finished`, 120_000);
    ids.forEach((id, i) => {
      assert.equal(results.get(id)?.result?.verdict, 'ok', id);
      assert.equal(results.get(id)?.result?.stdout, `job ${i}\n`);
    });

    assert.deepEqual(runTwice([server.logFile, worker.logFile]), [], 'no job started twice');
    const onServer = startedIn(server.logFile);
    const onWorker = startedIn(worker.logFile);
    assert.equal(onServer.size + onWorker.size, JOBS, 'every job started once, in one of the two');
    assert.ok(onWorker.size > 0, `the worker process ran some (${onWorker.size}; the server ${onServer.size})`);
    assert.ok(onServer.size > 0, `the server ran some (${onServer.size}; the worker ${onWorker.size})`);

    assert.ok(!existsSync(join(server.dataDir, 'warmbox.db')) && !existsSync(join(worker.dataDir, 'warmbox.db')), 'no SQLite file: the db is Postgres');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE status = 'finished' AND verdict = 'ok'`);
      assert.equal(Number(rows[0]!.n), JOBS, 'the rows are in Postgres');
    } finally {
      await client.end();
    }
  });

  it('warmbox tenants on the host acts on WARMBOX_DATABASE_URL\'s db, which the server reads', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-pg-cli-'));
    try {
      const made = await runCli(['tenants', 'create', 'acme', '--data', dataDir], { WARMBOX_DATABASE_URL: databaseUrl });
      assert.equal(made.code, 0, made.stderr);
      const { tenants } = (await (await fetch(`${server.url}/v1/tenants`)).json()) as { tenants: { name: string }[] };
      assert.ok(tenants.some((t) => t.name === 'acme'), JSON.stringify(tenants));
      assert.ok(!existsSync(join(dataDir, 'warmbox.db')), 'no SQLite file made beside it');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
