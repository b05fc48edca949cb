/**
 * Staging under the store's tmp/: everything enters the store by being written here first and then
 * renamed into place, so a crash leaves garbage only in tmp/, never a half-written blob, layer or ref.
 * Entries are named '<pid>-<label>-<random>': at start, those of processes that are gone are removed,
 * while another live process (a CLI next to the server) keeps its work in progress.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const STAGING_NAME_RE = /^(\d+)-/;

export function stagingPath(tmpDir: string, label: string): string {
  return join(tmpDir, `${process.pid}-${label}-${randomBytes(6).toString('hex')}`);
}

export async function makeStagingDir(tmpDir: string, label: string): Promise<string> {
  const dir = stagingPath(tmpDir, label);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Removes what crashed writers left in tmpDir; returns how many entries went. */
export async function clearStaleStaging(tmpDir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpDir)) {
    const pid = Number(STAGING_NAME_RE.exec(name)?.[1] ?? NaN);
    if (Number.isInteger(pid) && isProcessAlive(pid)) continue;
    await rm(join(tmpDir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a small file durably and atomically: tmp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Buffer, tmpDir: string, mode = 0o644): Promise<void> {
  const tmp = stagingPath(tmpDir, 'file');
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(dirname(path), { recursive: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
