/**
 * Temporary directories for tests: under os.tmpdir(), removed when the test (or suite) that made
 * them is done, whether it passed or not.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface HasAfter {
  after(fn: () => Promise<void> | void): void;
}

/** A fresh directory, removed after `owner` (a TestContext, or node:test's `after` wrapped). */
export async function makeTempDir(owner: HasAfter, label = 'test'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `warmbox-${label}-`));
  owner.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs fn with a fresh directory and removes it afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, label = 'test'): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `warmbox-${label}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
