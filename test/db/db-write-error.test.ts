/** DbWriteError names what a failed write means whichever driver failed: disk full, or a db that takes no writes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { DbWriteError, isDriverError } from '../../db/db-write-error.js';
import { probeDbWrites } from '../../db/probe.js';
import { forEachDialect } from '../helpers/databases.js';

function driverError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('DbWriteError.from', () => {
  it('SQLite: SQLITE_FULL and ENOSPC are disk_full, others db_unavailable', () => {
    assert.equal(DbWriteError.from(driverError('database or disk is full', 'SQLITE_FULL')).failure, 'disk_full');
    assert.equal(DbWriteError.from(driverError('disk I/O error (ENOSPC)', 'SQLITE_IOERR_WRITE')).failure, 'disk_full');
    assert.equal(DbWriteError.from(driverError('database is locked', 'SQLITE_BUSY')).failure, 'db_unavailable');
  });

  it('Postgres, as drizzle wraps it: 53100 is disk_full; a read-only server or no server is db_unavailable', () => {
    const wrapped = (message: string, code: string) => new DrizzleQueryError('insert into "jobs" …', [], driverError(message, code));
    const full = DbWriteError.from(wrapped('could not extend file: No space left on device', '53100'));
    assert.equal(full.failure, 'disk_full');
    assert.equal(full.code, '53100');
    assert.equal(DbWriteError.from(wrapped('cannot execute INSERT in a read-only transaction', '25006')).failure, 'db_unavailable');
    assert.equal(DbWriteError.from(driverError('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED')).failure, 'db_unavailable');
    assert.ok(isDriverError(wrapped('x', '23505')), 'a failed query is the driver\'s');
  });
});

forEachDialect('the readiness probe', (fixture) => {
  it('passes on a db that takes writes', async () => {
    const { db } = await fixture.open();
    await probeDbWrites(db, 1);
  });
});
