/**
 * What a job's working directory may be: decided by the store when it loads an image
 * (images/store/working-dir.ts resolves the image's WorkingDir through its layers), and checked
 * again by the sandbox runtime where it is used (runtime/sandbox-runtime.ts).
 *
 * A usable WorkingDir is absolute, has no '..' component, is shorter than the launcher and the
 * kernel accept, and does not resolve into /proc, /sys or /dev, which the sandbox mounts over the
 * image (runc CVE-2024-21626: WORKDIR /proc/self/fd/N reached the host).
 */
import { posix } from 'node:path';

/** Kernel and device trees the sandbox mounts: never a job's working directory. */
export const FORBIDDEN_WORKDIR_ROOTS = ['/proc', '/sys', '/dev'];
/** runtime/native/spec.c takes shorter paths only. */
const MAX_WORKDIR_CHARS = 1023;
/** Linux's NAME_MAX: mkdir(2) refuses a longer name. */
const MAX_NAME_BYTES = 255;

/** An image's WorkingDir resolved (no symlink left in it), or why no job can start there. */
export type WorkingDir = { path: string } | { problem: string };

/** What is wrong with the text of a WorkingDir, whatever the image holds; undefined when nothing. */
export function workingDirTextProblem(dir: string): string | undefined {
  if (dir.includes('\0')) return 'it contains a NUL byte';
  if (!posix.isAbsolute(dir)) return 'it is not an absolute path';
  if (dir.split('/').includes('..')) return "it has a '..' component";
  if (dir.length > MAX_WORKDIR_CHARS) return `it is longer than ${MAX_WORKDIR_CHARS} characters`;
  if (dir.split('/').some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)) return `a name in it is longer than ${MAX_NAME_BYTES} bytes`;
  return forbiddenRootOf(posix.normalize(dir));
}

/** Why a resolved path must not be a working directory (inside /proc, /sys, /dev), or undefined. */
export function forbiddenRootOf(path: string): string | undefined {
  const root = FORBIDDEN_WORKDIR_ROOTS.find((r) => path === r || path.startsWith(`${r}/`));
  return root === undefined ? undefined : `it leads into ${root}, which the sandbox mounts over the image`;
}

/** The message of a WorkingDir that has a problem, as pulls, imports and jobs say it. */
export function workingDirMessage(dir: string, problem: string): string {
  return `config.WorkingDir ${JSON.stringify(dir)} cannot be a job's working directory: ${problem}`;
}
