/**
 * Judge runs in the db: one owner at a time (leases renewed, runs of a gone owner taken over by
 * exactly one process), writes guarded by the owner, the verdict recorded with its deliveries, and
 * the migration that brought this keeping every webhook attempt recorded before it.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { JudgeRunView } from '../../contract/judge.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import {
  finishJudgeRun,
  getJudgeRunById,
  insertJudgeRun,
  orphanedJudgeRuns,
  releaseJudgeRunLeases,
  renewJudgeRunLeases,
  saveJudgeRun,
  takeOverJudgeRun,
} from '../../db/judge-runs.js';
import { migrationsFolder } from '../../db/migrations-folder.js';
import { getDelivery, listDeliveries, pendingDeliveriesToSweep, recordAttempt } from '../../db/webhook-deliveries.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-db-judge-'));
let handle: DatabaseHandle;
before(() => {
  handle = openDatabase(join(dir, 'warmbox.db'));
});
after(() => {
  handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

function view(id: string): JudgeRunView {
  return { id, status: 'queued', image: 'docker.io/library/busybox:latest', createdAt: new Date(1000).toISOString(), tests: [{ index: 0, status: 'pending' }], passed: 0 };
}

function insert(id: string, owner: string, leaseUntil: number): void {
  insertJudgeRun(handle.db, { tenantId: 'local', view: view(id), input: { request: {}, plan: {} }, createdAt: 1000, owner, leaseUntil });
}

describe('judge runs in the db', () => {
  it('are written only by their owner, and renewed only for the runs it drives', () => {
    insert('R1', 'A', 5000);
    assert.equal(saveJudgeRun(handle.db, { ...view('R1'), status: 'running' }, 'A'), true);
    assert.equal(saveJudgeRun(handle.db, view('R1'), 'B'), false, 'another process cannot write the run');
    assert.equal(getJudgeRunById(handle.db, 'R1')?.status, 'running');
    assert.equal(renewJudgeRunLeases(handle.db, 'A', ['R1'], 9000), 1);
    assert.equal(renewJudgeRunLeases(handle.db, 'B', ['R1'], 9999), 0);
    assert.equal(getJudgeRunById(handle.db, 'R1')?.leaseUntil, 9000);
  });

  it('whose lease ran out are taken over by exactly one process', () => {
    insert('R2', 'A', 5000);
    assert.ok(!orphanedJudgeRuns(handle.db, 4000, 10).includes('R2'), 'a run whose lease holds is nobody else\'s');
    assert.ok(orphanedJudgeRuns(handle.db, 6000, 10).includes('R2'));
    assert.equal(takeOverJudgeRun(handle.db, 'R2', 'B', 6000, 20_000)?.owner, 'B');
    assert.equal(takeOverJudgeRun(handle.db, 'R2', 'C', 6000, 20_000), undefined, 'the second taker loses');
    assert.equal(saveJudgeRun(handle.db, view('R2'), 'A'), false, 'the old owner can no longer write it');
    assert.equal(saveJudgeRun(handle.db, view('R2'), 'B'), true);
  });

  it('released by a stopping process are taken over at once', () => {
    insert('R3', 'S', Number.MAX_SAFE_INTEGER);
    assert.equal(releaseJudgeRunLeases(handle.db, 'S'), 1);
    assert.ok(orphanedJudgeRuns(handle.db, 1, 100).includes('R3'));
  });

  it('are finished once, with their deliveries in the same write', () => {
    insert('R4', 'A', 5000);
    const finished: JudgeRunView = { ...view('R4'), status: 'finished', verdict: 'accepted' };
    const delivery = { id: 'whr_R4', event: 'judge_run.finished', url: 'https://example.com/j', body: '{"x":1}' };
    assert.equal(finishJudgeRun(handle.db, finished, 'B', 7000, [delivery]), false, 'not the owner: nothing recorded');
    assert.equal(getDelivery(handle.db, 'whr_R4'), undefined);
    assert.equal(finishJudgeRun(handle.db, finished, 'A', 7000, [delivery]), true);
    assert.equal(finishJudgeRun(handle.db, finished, 'A', 8000, [delivery]), false, 'a finished run is not finished again');
    assert.equal(getJudgeRunById(handle.db, 'R4')?.status, 'finished');
    assert.ok(!orphanedJudgeRuns(handle.db, Number.MAX_SAFE_INTEGER, 100).includes('R4'), 'a finished run is never taken over');
    const [listed] = listDeliveries(handle.db, { judgeRunId: 'R4' });
    assert.equal(listed?.judgeRunId, 'R4');
    assert.equal(listed?.jobId, null);
    assert.equal(listed?.body, '{"x":1}');
    assert.ok(pendingDeliveriesToSweep(handle.db, { unattemptedBefore: 7001, staleBefore: 0, limit: 10 }).some((d) => d.id === 'whr_R4'), 'swept like a job\'s');
    recordAttempt(handle.db, listed!, { attempt: 1, at: 7100, statusCode: 500, latencyMs: 3, error: 'the receiver answered 500' }, 'pending', 7200);
    assert.equal(listDeliveries(handle.db, { judgeRunId: 'R4' })[0]?.attemptLog[0]?.jobId, 'R4', 'an attempt names its run');
  });
});

describe('migration 0010 (judge run deliveries)', () => {
  it('keeps the deliveries and attempts recorded before it', () => {
    const migrations = join(dir, 'migrations');
    cpSync(migrationsFolder(), migrations, { recursive: true });
    const journalFile = join(migrations, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
    const full = structuredClone(journal);
    journal.entries = journal.entries.filter((e) => e.tag < '0010');
    writeFileSync(journalFile, JSON.stringify(journal));
    const file = join(dir, 'old.db');
    const sqlite = new Database(file);
    sqlite.pragma('foreign_keys = ON');
    const db = drizzle(sqlite);
    migrate(db, { migrationsFolder: migrations });
    sqlite.exec(`insert into jobs (id, status, image, request, labels, created_at) values ('J1', 'finished', 'i', '{}', '{}', 1)`);
    sqlite.exec(`insert into webhook_deliveries (id, job_id, event, url, state, attempts, created_at, updated_at) values ('whd_J1', 'J1', 'job.finished', 'https://x', 'dead', 2, 1, 2)`);
    sqlite.exec(`insert into webhook_attempts (delivery_id, job_id, attempt, at, latency_ms, error) values ('whd_J1', 'J1', 1, 1, 5, 'e1'), ('whd_J1', 'J1', 2, 2, 6, 'e2')`);
    writeFileSync(journalFile, JSON.stringify(full));
    migrate(db, { migrationsFolder: migrations });
    const attempts = sqlite.prepare('select attempt, error from webhook_attempts order by attempt').all();
    assert.deepEqual(attempts, [{ attempt: 1, error: 'e1' }, { attempt: 2, error: 'e2' }]);
    assert.deepEqual(sqlite.prepare('select id, job_id, judge_run_id from webhook_deliveries').all(), [{ id: 'whd_J1', job_id: 'J1', judge_run_id: null }]);
    assert.deepEqual(sqlite.pragma('foreign_key_check'), []);
    sqlite.exec(`delete from jobs where id = 'J1'`);
    assert.equal((sqlite.prepare('select count(*) as n from webhook_attempts').get() as { n: number }).n, 0, 'the cascade still holds');
    sqlite.close();
  });
});
