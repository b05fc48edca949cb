/**
 * Temporary directories for tests, under os.tmpdir(). Make one in `before()` and remove it in
 * `after()`, or let withTempDir do both around one function.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh, empty directory named warmbox-<label>-XXXXXX. */
export async function makeTempDir(label = 'test'): Promise<string> {
  return mkdtemp(join(tmpdir(), `warmbox-${label}-`));
}

export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Runs fn with a fresh directory and removes it afterwards, whether fn succeeded or not. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, label = 'test'): Promise<T> {
  const dir = await makeTempDir(label);
  try {
    return await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}
