/**
 * A write the db could not make durable. `disk_full` when SQLite ran out of space (SQLITE_FULL,
 * or the file system's ENOSPC surfacing as an I/O error), `db_unavailable` otherwise (locked past
 * the busy timeout, read-only, I/O error). The caller must not acknowledge what it tried to record.
 */
export type DbWriteFailure = 'disk_full' | 'db_unavailable';

export class DbWriteError extends Error {
  constructor(
    readonly failure: DbWriteFailure,
    readonly sqliteCode: string | undefined,
    cause: unknown,
  ) {
    super(failure === 'disk_full' ? 'the database disk is full' : `the database cannot take writes (${sqliteCode ?? 'unknown error'})`, { cause });
    this.name = 'DbWriteError';
  }

  /** Wraps a better-sqlite3 error (its `code` is the extended SQLite result code, e.g. SQLITE_IOERR_WRITE). */
  static from(err: unknown): DbWriteError {
    if (err instanceof DbWriteError) return err;
    const code = (err as { code?: unknown }).code;
    const sqliteCode = typeof code === 'string' ? code : undefined;
    const full = sqliteCode === 'SQLITE_FULL' || /ENOSPC|disk is full|database or disk is full/i.test(String((err as Error)?.message));
    return new DbWriteError(full ? 'disk_full' : 'db_unavailable', sqliteCode, err);
  }
}
