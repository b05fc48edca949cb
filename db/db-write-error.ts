/**
 * A write the db could not make durable. `disk_full` when the db ran out of space (SQLite's
 * SQLITE_FULL, or the file system's ENOSPC surfacing as an I/O error; Postgres's 53100
 * disk_full), `db_unavailable` otherwise (locked past the busy timeout, read-only, I/O error, the
 * server unreachable). The caller must not acknowledge what it tried to record.
 */
export type DbWriteFailure = 'disk_full' | 'db_unavailable';

export class DbWriteError extends Error {
  constructor(
    readonly failure: DbWriteFailure,
    /** The driver's code: the extended SQLite result code (e.g. SQLITE_IOERR_WRITE), Postgres's SQLSTATE, or a socket error's. */
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(failure === 'disk_full' ? 'the database disk is full' : `the database cannot take writes (${code ?? 'unknown error'})`, { cause });
    this.name = 'DbWriteError';
  }

  /** Wraps a driver's error (drizzle wraps a failed query's in a DrizzleQueryError, its cause). */
  static from(err: unknown): DbWriteError {
    if (err instanceof DbWriteError) return err;
    const driverErr = driverError(err);
    const code = (driverErr as { code?: unknown }).code;
    const driverCode = typeof code === 'string' ? code : undefined;
    const full =
      driverCode === 'SQLITE_FULL' || driverCode === '53100' || /ENOSPC|disk is full|database or disk is full|No space left/i.test(String((driverErr as Error)?.message));
    return new DbWriteError(full ? 'disk_full' : 'db_unavailable', driverCode, err);
  }
}

/** DrizzleQueryError carries the failed query and, as its cause, the driver's error. */
function driverError(err: unknown): unknown {
  const e = err as { query?: unknown; cause?: unknown } | null;
  return e !== null && typeof e === 'object' && 'query' in e && e.cause !== undefined ? e.cause : err;
}

/** An error of the database itself (better-sqlite3's SqliteError, or a failed query drizzle wrapped), not of a caller's step. */
export function isDriverError(err: unknown): boolean {
  if (err instanceof DbWriteError) return true;
  const e = err as { name?: unknown; query?: unknown } | null;
  return e !== null && typeof e === 'object' && (e.name === 'SqliteError' || 'query' in e);
}
