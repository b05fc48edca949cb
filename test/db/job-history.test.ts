/**
 * The jobs history query (GET /v1/jobs): on a real SQLite file each filter is served by an index
 * that also gives the order (EXPLAIN QUERY PLAN: an index search, no temporary B-tree for ORDER
 * BY); on both dialects the filters hold and keyset pages neither repeat nor skip a row while
 * rows are being added.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';
import { openDatabase, type DatabaseHandle, type WarmboxDb } from '../../db/client.js';
import { forEachDialect } from '../helpers/databases.js';
import { historyQuery, listJobHistory, type JobHistoryQuery } from '../../db/job-history.js';
import { createJob, finishJob, markRunning } from '../../db/jobs.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-history-test-'));
let handle: DatabaseHandle;
/** A second connection to the same file, for EXPLAIN and ANALYZE. */
let sqlite: Database.Database;
before(async () => {
  handle = await openDatabase(join(dir, 'warmbox.db'));
  sqlite = new Database(join(dir, 'warmbox.db'));
});
after(async () => {
  sqlite?.close();
  handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

const IMAGES = ['docker.io/library/busybox:latest', 'docker.io/library/python:latest'];
let serial = 0;

async function addJob(createdAt: number, labels: Record<string, string> = {}, image = IMAGES[0]!, db: WarmboxDb = handle.db): Promise<string> {
  const id = `J${String(serial++).padStart(25, '0')}`;
  const request: JobPayload = { id, image, stdinBase64: '', env: {}, files: [], limits: { ...DEFAULT_LIMITS }, network: 'none', createdAt };
  await createJob(db, { id, image, request, labels, createdAt });
  return id;
}

const result = (verdict: JobResult['verdict']): JobResult => ({
  verdict,
  exitCode: verdict === 'ok' ? 0 : 1,
  signal: null,
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  usage: { cpuTimeMs: 0, wallTimeMs: 0, memoryPeakBytes: 0 },
  start: 'warm',
  timings: { queuedMs: 0, pullMs: 0, acquireMs: 0, runMs: 0, totalMs: 0 },
});

/** SQLite's plan of the listing, one line per step. */
async function plan(q: JobHistoryQuery): Promise<string[]> {
  const { sql, params } = await handle.db.query(async (d) => historyQuery(handle.db, d, q).toSQL());
  return (sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as unknown[])) as { detail: string }[]).map((r) => r.detail);
}

/** Enough rows, of two images, statuses and verdicts, for the planner to have a choice. */
async function seed(db: WarmboxDb): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const id = await addJob(1_000 + i, i % 7 === 0 ? { team: 'a' } : {}, IMAGES[i % 2], db);
    if (i % 3 !== 0) await markRunning(db, id, 2_000 + i, 'sha256:x');
    if (i % 3 === 2) await finishJob(db, id, result(i % 2 ? 'ok' : 'nonzero_exit'), 3_000 + i);
  }
}

describe('the jobs history query on SQLite', () => {
  before(async () => {
    await seed(handle.db);
    sqlite.exec('ANALYZE');
  });

  const cursor = { createdAt: 1_200, id: 'J0000000000000000000000200' };
  const cases: [string, JobHistoryQuery, RegExp][] = [
    ['no filter', { limit: 20 }, /jobs_created_at_id_idx/],
    ['a page after a cursor', { limit: 20, after: cursor }, /jobs_created_at_id_idx/],
    ['since/until', { limit: 20, since: 1_050, until: 1_300 }, /jobs_created_at_id_idx/],
    ['status', { limit: 20, status: ['running'], after: cursor }, /jobs_status_created_at_id_idx/],
    ['image', { limit: 20, image: IMAGES[1], after: cursor }, /jobs_image_created_at_id_idx/],
    ['verdict', { limit: 20, verdict: ['ok'], after: cursor }, /jobs_verdict_created_at_id_idx/],
    ['a label', { limit: 20, labels: { team: 'a' } }, /jobs_created_at_id_idx/],
  ];
  for (const [name, q, index] of cases) {
    it(`uses an index, and no sort, for ${name}`, async () => {
      const steps = await plan(q);
      assert.ok(steps.some((s) => index.test(s)), `expected ${index} in the plan:\n${steps.join('\n')}`);
      assert.ok(!steps.some((s) => /^SCAN jobs$/.test(s)), `a full table scan:\n${steps.join('\n')}`);
      assert.ok(!steps.some((s) => /TEMP B-TREE FOR ORDER BY/.test(s)), `a sort:\n${steps.join('\n')}`);
    });
  }
});

forEachDialect('the jobs history listing', (fixture) => {
  let db: WarmboxDb;
  before(async () => {
    db = (await fixture.open()).db;
    await seed(db);
  });

  it('filters by status, image, verdict, label and time, newest first', async () => {
    const page = await listJobHistory(db, { limit: 500, status: ['finished'], verdict: ['ok'], image: IMAGES[1], labels: { team: 'a' }, since: 1_000, until: 1_400 });
    assert.ok(page.jobs.length > 0);
    for (const j of page.jobs) {
      assert.equal(j.status, 'finished');
      assert.equal(j.verdict, 'ok');
      assert.equal(j.image, IMAGES[1]);
      assert.deepEqual(j.labels, { team: 'a' });
    }
    const times = page.jobs.map((j) => j.createdAt);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.equal(page.next, undefined, 'the last page has no next');
  });

  it('pages back through every row once while newer rows keep coming (several per millisecond)', async () => {
    const t = 10_000;
    const before = new Set<string>();
    for (let i = 0; i < 45; i++) before.add(await addJob(t + Math.floor(i / 4), { run: 'paging' }, IMAGES[0], db));
    const seen: string[] = [];
    let next: JobHistoryQuery['after'];
    for (let page = 0; page < 100; page++) {
      const got = await listJobHistory(db, { limit: 7, labels: { run: 'paging' }, after: next });
      seen.push(...got.jobs.map((j) => j.id));
      // Inserted between pages: newer than anything shown, some in the same millisecond as the newest.
      await addJob(t + 11, { run: 'paging' }, IMAGES[0], db);
      await addJob(t + 100 + page, { run: 'paging' }, IMAGES[0], db);
      if (got.next === undefined) break;
      next = got.next;
    }
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    for (const id of before) assert.ok(seen.includes(id), `${id} skipped`);
  });
});
