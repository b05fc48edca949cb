/**
 * A job is acknowledged only once it is durably recorded: with the db's disk full, createJob
 * throws instead of handing back a row that the failed commit never stored (FACTS.md: better-sqlite3's
 * `.get()` of INSERT … RETURNING does), and the API answers 507 with nothing recorded.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { DbWriteError } from '../../db/db-write-error.js';
import { createJob, getJob, type NewJob } from '../../db/jobs.js';
import { toApiError } from '../../api/errors.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

/** A job row whose request is big enough that SQLite must grow its files to store it. */
function bigJob(id: string): NewJob {
  const request = { id, padding: 'x'.repeat(256 * 1024) } as unknown as NewJob['request'];
  return { id, image: 'busybox', request, labels: {}, createdAt: 1 };
}

describe('db: a full disk', () => {
  let dir: string;
  let mounted = false;
  let handle: DatabaseHandle;

  before(async () => {
    dir = await makeTempDir('db-full');
    // A disk of its own, small enough to fill: a 4 MiB tmpfs (the tests run as root).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'warmbox-test-full', dir]);
    mounted = true;
    handle = await openDatabase(join(dir, 'warmbox.db'));
  });

  after(async () => {
    handle?.close();
    if (mounted) execFileSync('umount', [dir]);
    await removeTempDir(dir);
  });

  it('records a job while there is room', async () => {
    assert.equal((await createJob(handle.db, bigJob('ROOM'))).id, 'ROOM');
    assert.equal((await getJob(handle.db, 'ROOM'))?.status, 'queued');
  });

  it('throws disk_full and stores nothing once the disk is full; the 507 says nothing was recorded', async () => {
    assert.throws(() => writeFileSync(join(dir, 'filler'), Buffer.alloc(8 << 20)), /ENOSPC/);
    let thrown: unknown;
    try {
      await createJob(handle.db, bigJob('FULL'));
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof DbWriteError, `createJob must throw DbWriteError, got ${String(thrown)}`);
    assert.equal(thrown.failure, 'disk_full', thrown.message);
    assert.equal(await getJob(handle.db, 'FULL'), undefined, 'a job that was not durably written must not be readable');
    const apiError = toApiError(thrown);
    assert.equal(apiError?.status, 507);
    assert.equal(apiError?.code, 'storage_full');
    assert.doesNotMatch(apiError!.message, new RegExp(dir), 'the answer names no host path');
    // The job recorded before the disk filled is still there.
    assert.equal((await getJob(handle.db, 'ROOM'))?.status, 'queued');
  });
});
