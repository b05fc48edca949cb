/**
 * A judge run that got its 202 reaches its verdict whatever dies mid-run:
 * - the server (API and worker in one process) is SIGKILLed after some tests finished; a new
 *   server on the same data directory and (external) Redis takes the run over once its lease runs
 *   out and ends it; the Judge0 submission accepted before the kill has its callback_url PUT;
 * - the worker alone is SIGKILLed (API and worker in processes of their own); a new worker takes
 *   the jobs, and the tests whose job was lost with the worker run again;
 * - Redis (with its append-only file) is SIGKILLed and started again on the same port and file
 *   while the server runs: the run waits through the outage and goes on.
 * Either way every test has a verdict, the tests that finished before the kill keep their job, and
 * no step of the run has more than one job that did not end `lost` (counted by label). The run's
 * webhook is delivered signed, after a failed first attempt that GET /v1/judge/{id}/deliveries shows.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WEBHOOK_HEADERS, webhookSignature } from '../../contract/webhook-signature.js';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';
import { CLI, startServer, type TestServer } from '../helpers/warmbox-server.js';
import { answer, startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'judge-crash-secret';
const TESTS = 8;

/** The "compiler" of test/e2e/judge.test.ts: ./prog from main.sh. */
const BUILD = ['sh', '-c', "{ echo '#!/bin/sh'; cat main.sh; } > prog && chmod 755 prog && rm main.sh"];
/** Slow enough that a kill finds tests finished, running and pending. */
const SOLUTION = 'read n\nsleep 2\necho $((n + 1))\n';

/** A Judge0 language of the same kind (test/e2e/dropin-judge0.test.ts). */
const SHC = 1001;
const PRESET = { id: 'shc', name: 'Shell, compiled (test)', version: '1.0', image: 'busybox', sourceFile: 'main.sh', build: BUILD, run: ['./prog'], judge0Id: SHC };

const SERVER_ENV = {
  WARMBOX_CONCURRENCY: '2',
  WARMBOX_WEBHOOK_ALLOW: 'loopback',
  WARMBOX_WEBHOOK_SECRET: SECRET,
  WARMBOX_WEBHOOK_BACKOFF_MS: '200',
  WARMBOX_LOG_LEVEL: 'info',
};

let redis: TestRedis;
let dir: string;
let receiver: WebhookReceiver;
let languagesFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-judge-crash-'));
  languagesFile = join(dir, 'languages.json');
  writeFileSync(languagesFile, JSON.stringify([PRESET]));
  redis = await startRedis();
  // The first attempt of each delivery fails: the retry is recorded.
  const tried = new Set<string>();
  receiver = await startReceiver((res, _n, req) => {
    const id = String(req.headers[WEBHOOK_HEADERS.delivery.toLowerCase()]);
    if (tried.has(id)) return answer(200)(res, 0, req);
    tried.add(id);
    answer(500)(res, 0, req);
  });
});
after(async () => {
  await receiver?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, json: await res.json() };
}

function judgeRequest(): unknown {
  return {
    image: 'busybox',
    build: BUILD,
    run: ['./prog'],
    files: [{ path: 'main.sh', content: SOLUTION }],
    limits: { wallTimeMs: 30_000 },
    tests: Array.from({ length: TESTS }, (_, i) => ({ stdin: `${i}\n`, expected: `${i + 1}\n` })),
    webhook: { url: receiver.url },
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, boundMs = 240_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`);
    await sleep(200);
  }
}

const finishedTests = (run: any): any[] => run.tests.filter((t: any) => t.status === 'finished');

/** The run once `n` tests finished (and at least one has not). */
async function runWithFinished(url: string, id: string, n: number): Promise<any> {
  return until(`${n} tests of ${id} finished`, async () => {
    const { json } = await call(url, 'GET', `/v1/judge/${id}`);
    const done = finishedTests(json).length;
    assert.ok(done < TESTS, 'the run ended before the kill: the test proves nothing');
    return done >= n ? json : undefined;
  });
}

async function finishedRun(url: string, id: string): Promise<any> {
  return until(`judge run ${id} finished`, async () => {
    const { json } = await call(url, 'GET', `/v1/judge/${id}`);
    return json.status === 'finished' ? json : undefined;
  });
}

/** Every test accepted; at most one job per step that did not end lost, and it is the one the run names. */
async function assertRanOnce(url: string, run: any, before: any): Promise<void> {
  assert.equal(run.verdict, 'accepted', JSON.stringify(run));
  assert.equal(run.passed, TESTS);
  for (const t of run.tests) assert.equal(t.verdict, 'accepted', JSON.stringify(t));
  const { json } = await call(url, 'GET', `/v1/jobs?label=warmbox.judge=${run.id}&limit=100`);
  const byStep = new Map<string, any[]>();
  for (const job of json.jobs) {
    const step = job.labels['warmbox.judge.step'];
    byStep.set(step, [...(byStep.get(step) ?? []), job]);
  }
  for (const t of run.tests) {
    const jobs = byStep.get(`test:${t.index}`) ?? [];
    const ran = jobs.filter((j) => j.verdict !== 'lost');
    assert.equal(ran.length, 1, `test ${t.index} ran once: ${JSON.stringify(jobs.map((j) => [j.id, j.status, j.verdict]))}`);
    assert.equal(t.jobId, ran[0].id);
  }
  assert.equal((byStep.get('build') ?? []).filter((j) => j.verdict !== 'lost').length, 1, 'one build');
  for (const t of finishedTests(before)) assert.equal(run.tests[t.index].jobId, t.jobId, `test ${t.index}, finished before the kill, kept its job`);
  const lost = json.jobs.filter((j: any) => j.verdict === 'lost').length;
  console.log(`# judge run ${run.id}: ${finishedTests(before).length} tests finished before the kill, ${lost} jobs lost with it and run again`);
}

/** The run's webhook: signed with the secret, the run as GET shows it, after one failed attempt. */
async function assertWebhook(url: string, run: any): Promise<void> {
  const deliveryId = `whr_${run.id}`;
  const got = await until('the judge run webhook delivered', async () => {
    const hits = receiver.received.filter((r) => r.headers[WEBHOOK_HEADERS.delivery.toLowerCase()] === deliveryId);
    return hits.length >= 2 ? hits : undefined;
  });
  const last = got[got.length - 1]!;
  const [t, v1] = String(last.headers[WEBHOOK_HEADERS.signature.toLowerCase()]).split(',').map((p) => p.split('=')[1]);
  assert.equal(v1, webhookSignature(SECRET, Number(t), last.body), 'signed as a job\'s webhook is');
  const body = JSON.parse(last.body);
  assert.equal(body.type, 'judge_run.finished');
  assert.equal(last.headers[WEBHOOK_HEADERS.event.toLowerCase()], 'judge_run.finished');
  assert.deepEqual(body.judgeRun, run);
  const deliveries = await until('the attempts recorded', async () => {
    const { json } = await call(url, 'GET', `/v1/judge/${run.id}/deliveries`);
    return json.deliveries[0]?.state === 'delivered' ? json.deliveries : undefined;
  });
  assert.equal(deliveries.length, 1);
  assert.deepEqual(
    deliveries[0].attempts.map((a: any) => a.statusCode),
    [500, 200],
  );
}

describe('faults: judge runs', () => {
  it('SIGKILL of the server mid-run: a new server takes the run (and a Judge0 submission) over and ends them; no test runs twice', { timeout: 600_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-judge-crash-data-'));
    const env = { ...SERVER_ENV, WARMBOX_LANGUAGES_FILE: languagesFile };
    let first: TestServer | undefined = await startServer({ redisUrl: redis.url, dataDir, env, detached: true });
    let second: TestServer | undefined;
    try {
      const created = await call(first.url, 'POST', '/v1/judge', judgeRequest());
      assert.equal(created.status, 202, JSON.stringify(created.json));
      const callbackUrl = receiver.url.replace('/hook', '/judge0');
      const submission = await call(first.url, 'POST', '/submissions', { source_code: SOLUTION, language_id: SHC, stdin: '41', expected_output: '42', callback_url: callbackUrl });
      assert.equal(submission.status, 201, JSON.stringify(submission.json));
      const before = await runWithFinished(first.url, created.json.id, 2);
      process.kill(first.process.pid!, 'SIGKILL');
      await once(first.process, 'exit');
      first = undefined;

      second = await startServer({ redisUrl: redis.url, dataDir, env });
      const run = await finishedRun(second.url, created.json.id);
      await assertRanOnce(second.url, run, before);
      await assertWebhook(second.url, run);

      const callback = await until('the Judge0 callback', async () => receiver.received.find((r) => r.headers[WEBHOOK_HEADERS.delivery.toLowerCase()] === `whc_${submission.json.token}` && r.headers[WEBHOOK_HEADERS.attempt.toLowerCase()] === '2'));
      const body = JSON.parse(callback.body);
      assert.equal(body.token, submission.json.token);
      assert.equal(body.status.id, 3, JSON.stringify(body));
      assert.equal(Buffer.from(body.stdout, 'base64').toString(), '42\n');
    } finally {
      if (first) {
        first.process.kill('SIGKILL');
        await once(first.process, 'exit');
      }
      await second?.stop(); // removes dataDir
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGKILL of the worker mid-run: the lost tests run again on a new worker; the run ends accepted', { timeout: 600_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-judge-crash-data-'));
    const api = await startServer({ redisUrl: redis.url, dataDir, env: { ...SERVER_ENV, WARMBOX_ROLE: 'api' } });
    const workers: ChildProcess[] = [];
    try {
      workers.push(startWorker(dataDir));
      await until('the worker listed', async () => ((await call(api.url, 'GET', '/v1/pools')).json.workers.length > 0 ? true : undefined));
      const created = await call(api.url, 'POST', '/v1/judge', judgeRequest());
      assert.equal(created.status, 202, JSON.stringify(created.json));
      const before = await runWithFinished(api.url, created.json.id, 2);
      workers[0]!.kill('SIGKILL');
      await once(workers[0]!, 'exit');
      workers.push(startWorker(dataDir));
      const run = await finishedRun(api.url, created.json.id);
      await assertRanOnce(api.url, run, before);
      await assertWebhook(api.url, run);
    } finally {
      for (const w of workers) {
        if (w.exitCode !== null || w.signalCode !== null) continue;
        w.kill('SIGTERM');
        await once(w, 'exit');
      }
      await api.stop(); // removes dataDir
    }
  });
});

describe('faults: judge runs and Redis', () => {
  it('SIGKILL of Redis (AOF) mid-run, started again: the run goes on and ends accepted; no test runs twice', { timeout: 600_000 }, async () => {
    const aofDir = mkdtempSync(join(tmpdir(), 'warmbox-judge-crash-aof-'));
    let ownRedis: TestRedis | undefined = await startRedis({ aofDir });
    const server = await startServer({ redisUrl: ownRedis.url, env: SERVER_ENV });
    try {
      const created = await call(server.url, 'POST', '/v1/judge', judgeRequest());
      assert.equal(created.status, 202, JSON.stringify(created.json));
      const before = await runWithFinished(server.url, created.json.id, 2);
      const port = ownRedis.port;
      process.kill(ownRedis.pid, 'SIGKILL');
      await ownRedis.stop();
      await sleep(2000);
      ownRedis = await startRedisOn(port, { aofDir });
      const run = await finishedRun(server.url, created.json.id);
      await assertRanOnce(server.url, run, before);
      await assertWebhook(server.url, run);
    } finally {
      await server.stop();
      await ownRedis?.stop();
      rmSync(aofDir, { recursive: true, force: true });
    }
  });
});

/** `warmbox worker` on the shared data directory and Redis (test/e2e/pools-cluster.test.ts). */
function startWorker(dataDir: string): ChildProcess {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', WARMBOX_DATA: dataDir, WARMBOX_REDIS_URL: redis.url, ...SERVER_ENV };
  const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dataDir, `worker-${child.pid}.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}
