import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { forEachDialect } from '../helpers/databases.js';
import { deleteImage, findImage, listImages, upsertImage } from '../../db/images.js';
import { createJob, deleteJob, finishJob, getJob, listJobs, markRunning } from '../../db/jobs.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-db-test-'));
after(async () => rmSync(dir, { recursive: true, force: true }));

function payload(id: string, createdAt: number): JobPayload {
  return {
    id,
    image: 'docker.io/library/busybox:latest',
    cmd: ['echo', 'hi'],
    stdinBase64: '',
    env: {},
    files: [{ path: 'main.py', contentBase64: Buffer.from('print(1)').toString('base64'), mode: 0o644 }],
    limits: { ...DEFAULT_LIMITS },
    network: 'none',
    createdAt,
  };
}

const result: JobResult = {
  verdict: 'nonzero_exit',
  exitCode: 3,
  signal: null,
  stdout: 'hi\n',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  usage: { cpuTimeMs: 1, wallTimeMs: 2, memoryPeakBytes: 1024 },
  start: 'warm',
  timings: { queuedMs: 1, pullMs: 0, acquireMs: 0, runMs: 2, totalMs: 3 },
};

describe('openDatabase', () => {
  it('applies the migrations to a fresh file, in WAL mode', async () => {
    const file = join(dir, 'fresh.db');
    const handle = await openDatabase(file);
    handle.close();

    const raw = new Database(file, { readonly: true });
    const tables = raw.prepare(`select name from sqlite_master where type = 'table'`).pluck().all();
    assert.ok(tables.includes('jobs'), `tables: ${tables.join(', ')}`);
    assert.ok(tables.includes('images'));
    assert.ok(tables.includes('idempotency_keys'));
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    const indexes = raw.prepare(`select name from sqlite_master where type = 'index' and tbl_name = 'jobs'`).pluck().all();
    assert.ok(indexes.includes('jobs_verdict_created_at_id_idx'), `indexes: ${indexes.join(', ')}`);
    raw.close();
  });

  it('opens an existing file again without re-applying migrations, also beside another open handle', async () => {
    const file = join(dir, 'shared.db');
    const first = await openDatabase(file);
    const second = await openDatabase(file);
    await createJob(first.db, { id: 'J1', image: 'x', request: payload('J1', 1), labels: {}, createdAt: 1 });
    assert.equal((await getJob(second.db, 'J1'))?.id, 'J1');
    first.close();
    second.close();
    const third = await openDatabase(file);
    assert.equal((await getJob(third.db, 'J1'))?.id, 'J1');
    third.close();
  });

  it('lets several processes open (and migrate) the same fresh file at once', async () => {
    const file = join(dir, 'race.db');
    const client = fileURLToPath(new URL('../../db/client.js', import.meta.url));
    const script = `import(${JSON.stringify(client)}).then((m) => m.openDatabase(${JSON.stringify(file)})).then((h) => h.close())`;
    const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    await Promise.all([run(), run(), run(), run()]);
    const handle = await openDatabase(file);
    await createJob(handle.db, { id: 'R1', image: 'x', request: payload('R1', 1), labels: {}, createdAt: 1 });
    handle.close();
  });
});

forEachDialect('jobs queries', (fixture) => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await fixture.open();
  });

  it('round-trips a job through queued, running and finished', async () => {
    const { db } = handle;
    const created = await createJob(db, {
      id: 'A1',
      image: 'docker.io/library/busybox:latest',
      request: payload('A1', 1000),
      labels: { team: 'judge' },
      webhookUrl: 'https://example.com/hook',
      createdAt: 1000,
    });
    assert.equal(created.status, 'queued');
    assert.deepEqual(await getJob(db, 'A1'), created);
    assert.deepEqual(created.request, payload('A1', 1000));
    assert.deepEqual(created.labels, { team: 'judge' });
    assert.equal(created.result, null);

    assert.equal(await markRunning(db, 'A1', 1005, 'sha256:abc'), true);
    assert.equal(await markRunning(db, 'A1', 1006, 'sha256:abc'), false, 'only a queued job starts');
    const running = await getJob(db, 'A1');
    assert.equal(running?.status, 'running');
    assert.equal(running?.startedAt, 1005);
    assert.equal(running?.digest, 'sha256:abc');

    assert.equal(await finishJob(db, 'A1', result, 1010), true);
    const finished = await getJob(db, 'A1');
    assert.equal(finished?.status, 'finished');
    assert.deepEqual(finished?.result, result);
    assert.equal(finished?.verdict, 'nonzero_exit');
    assert.equal(finished?.exitCode, 3);
    assert.equal(finished?.finishedAt, 1010);

    assert.equal(await finishJob(db, 'A1', { ...result, verdict: 'ok' }, 2000), false, 'a finished job stays as it finished');
    assert.equal(await markRunning(db, 'A1', 2000, 'sha256:def'), false, 'a finished job does not go back to running');
    assert.equal((await getJob(db, 'A1'))?.verdict, 'nonzero_exit');
  });

  it('keeps output as bytes beside the result: text, base64 (not UTF-8) and rows from before the byte columns', async () => {
    const { db } = handle;
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64');
    await createJob(db, { id: 'OUT1', image: 'busybox', request: payload('OUT1', 1), labels: {}, createdAt: 1 });
    await finishJob(db, 'OUT1', { ...result, stdout: 'héllo\n', stderr: binary, stderrEncoding: 'base64' }, 2);
    assert.deepEqual((await getJob(db, 'OUT1'))?.result, { ...result, stdout: 'héllo\n', stderr: binary, stderrEncoding: 'base64' });
    if (fixture.dialect !== 'sqlite') return; // what follows reads the SQLite file itself
    const raw = new Database(handle.location);
    const stored = raw.prepare("SELECT result, stdout, stderr FROM jobs WHERE id = 'OUT1'").get() as { result: string; stdout: Buffer; stderr: Buffer };
    assert.equal((JSON.parse(stored.result) as { stdout?: string }).stdout, undefined, 'the output is not in the result JSON');
    assert.deepEqual(stored.stderr, Buffer.from([0xff, 0xfe, 0x00, 0x41]));

    await createJob(db, { id: 'OLD1', image: 'busybox', request: payload('OLD1', 1), labels: {}, createdAt: 1 });
    raw.prepare("UPDATE jobs SET status = 'finished', result = ? WHERE id = 'OLD1'").run(JSON.stringify({ ...result, stdout: 'old\n' }));
    raw.close();
    assert.equal((await getJob(db, 'OLD1'))?.result?.stdout, 'old\n', 'a result written before the byte columns keeps its output');
  });

  it('answers undefined and false for unknown ids', async () => {
    assert.equal(await getJob(handle.db, 'nope'), undefined);
    assert.equal(await markRunning(handle.db, 'nope', 1, 'd'), false);
    assert.equal(await finishJob(handle.db, 'nope', result, 1), false);
    assert.equal(await deleteJob(handle.db, 'nope'), false);
  });

  it('lists newest first, by status, and pages back by id', async () => {
    const { db } = handle;
    for (const id of ['L1', 'L2', 'L3']) await createJob(db, { id, image: 'i', request: payload(id, 1), labels: {}, createdAt: 1 });
    await finishJob(db, 'L2', result, 5);
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id).filter((id) => id.startsWith('L'));
    assert.deepEqual(ids(await listJobs(db)), ['L3', 'L2', 'L1']);
    assert.deepEqual(ids(await listJobs(db, { status: 'queued' })), ['L3', 'L1']);
    assert.deepEqual(ids(await listJobs(db, { beforeId: 'L3', limit: 1 })), ['L2']);
    assert.equal(await deleteJob(db, 'L1'), true);
    assert.equal(await getJob(db, 'L1'), undefined);
  });
});

forEachDialect('images queries', (fixture) => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await fixture.open();
  });

  it('upserts, finds and lists images by reference', async () => {
    const { db } = handle;
    const busybox = {
      reference: 'docker.io/library/busybox:latest',
      digest: 'sha256:1111',
      config: { Cmd: ['sh'] },
      sizeBytes: 4_000_000,
      createdAt: 1,
    };
    await upsertImage(db, busybox);
    assert.deepEqual(await findImage(db, busybox.reference), busybox);

    await upsertImage(db, { ...busybox, digest: 'sha256:2222', createdAt: 2 });
    assert.equal((await findImage(db, busybox.reference))?.digest, 'sha256:2222');

    await upsertImage(db, { ...busybox, reference: 'docker.io/library/alpine:latest' });
    assert.deepEqual((await listImages(db)).map((i) => i.reference), ['docker.io/library/alpine:latest', busybox.reference]);
    assert.equal(await findImage(db, 'docker.io/library/nope:latest'), undefined);
    assert.equal(await deleteImage(db, busybox.reference), true);
    assert.equal(await findImage(db, busybox.reference), undefined);
  });
});

forEachDialect('several processes on one db', (fixture) => {
  it('migrate a fresh db together (on Postgres under an advisory lock) and share it', async () => {
    const location = await fixture.location();
    const client = fileURLToPath(new URL('../../db/client.js', import.meta.url));
    const script = `import(${JSON.stringify(client)}).then((m) => m.openDatabase(${JSON.stringify(location)})).then((h) => h.close())`;
    const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    await Promise.all([run(), run(), run(), run()]);
    const handle = await openDatabase(location);
    await createJob(handle.db, { id: 'M1', image: 'x', request: payload('M1', 1), labels: {}, createdAt: 1 });
    assert.equal((await getJob(handle.db, 'M1'))?.status, 'queued');
    await handle.close();
  });

  it('claim a queued job once: of many claims at once from two connections, one starts it', async () => {
    const location = await fixture.location();
    const [a, b] = [await openDatabase(location), await openDatabase(location)];
    try {
      for (let i = 0; i < 20; i++) {
        const id = `C${i}`;
        await createJob(a.db, { id, image: 'x', request: payload(id, 1), labels: {}, createdAt: 1 });
        const claims = await Promise.all([a, b, a, b].map((h, n) => markRunning(h.db, id, 100 + n, 'sha256:c')));
        assert.equal(claims.filter(Boolean).length, 1, `${id}: ${claims.join(', ')}`);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
