/**
 * Whether the SQLite db can take the write a job submission makes, for GET /readyz. Two parts,
 * because SQLite alone does not tell: a write rolled back never reaches the disk (so a full disk
 * lets it pass), and a committed one may fit in WAL space already allocated.
 *   1. the write lock and a schema write, rolled back: fails when the file is read-only, locked
 *      past the busy timeout or damaged;
 *   2. the free space of the db's file system, against the largest record a request may bring.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { DbWriteError } from '../db-write-error.js';

export function probeSqliteWrites(sqlite: Database.Database, minFreeBytes: number): void {
  try {
    sqlite.exec('BEGIN IMMEDIATE');
    try {
      sqlite.exec('CREATE TABLE warmbox_readiness_probe (x INTEGER)');
    } finally {
      sqlite.exec('ROLLBACK');
    }
  } catch (err) {
    throw DbWriteError.from(err);
  }
  const free = freeBytes(sqlite.name);
  if (free < minFreeBytes) {
    throw new DbWriteError('disk_full', undefined, new Error(`${free} bytes free on the db's disk, below the ${minFreeBytes} a job record may need`));
  }
}

function freeBytes(file: string): number {
  const fs = statfsSync(dirname(file));
  return fs.bavail * fs.bsize;
}
