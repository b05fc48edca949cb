/**
 * Paths of request files: relative to the job's working directory, and never able to leave it.
 * The API rejects what it can see; the worker still writes them without following symlinks.
 */
import { posix } from 'node:path';
import { REQUEST_BOUNDS } from './request-bounds.js';

/** Why `path` is not acceptable as a job file path, or undefined when it is. */
export function filePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.startsWith('/')) return 'must be relative to the working directory';
  if (path.split('/').includes('..')) return "must not contain '..'";
  const normalized = normalizeFilePath(path);
  if (normalized === '.' || normalized === '') return 'must name a file';
  if (path.endsWith('/')) return 'must name a file, not a directory';
  for (const name of normalized.split('/')) {
    if (Buffer.byteLength(name) > REQUEST_BOUNDS.fileNameBytes) {
      return `has a component longer than ${REQUEST_BOUNDS.fileNameBytes} bytes`;
    }
  }
  return undefined;
}

/** `./src//main.py` → `src/main.py`. Only for paths filePathProblem accepts. */
export function normalizeFilePath(path: string): string {
  return posix.normalize(path).replace(/^\.\//, '');
}
