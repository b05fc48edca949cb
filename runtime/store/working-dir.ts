/**
 * An image's WorkingDir (config.WorkingDir), decided once when the image is loaded: either the
 * directory a sandbox of it starts its jobs in — resolved through the image's own layers, symlinks
 * followed inside the image's root (layered-path.ts), so that the launcher gets a path with no
 * symlink in it — or why no job can start there. Pulls and imports refuse an image whose WorkingDir
 * has a problem (422, field config.WorkingDir); the sandbox runtime checks again for images stored
 * before, and their jobs end with exit 126 and the reason on stderr.
 *
 * A usable WorkingDir is absolute, has no '..' component, is shorter than the launcher and the
 * kernel accept, and does not resolve into /proc, /sys or /dev, which the sandbox mounts over the
 * image (runc CVE-2024-21626: WORKDIR /proc/self/fd/N reached the host); on the way, no symlink
 * leaves the root with '..', and nothing is a regular file. A path the image does not have is fine:
 * the launcher creates it.
 */
import { posix } from 'node:path';
import { resolveInLayers } from './layered-path.js';

/** Kernel and device trees the sandbox mounts: never a job's working directory. */
export const FORBIDDEN_WORKDIR_ROOTS = ['/proc', '/sys', '/dev'];
/** runtime/native/spec.c takes shorter paths only. */
const MAX_WORKDIR_CHARS = 1023;
/** Linux's NAME_MAX: mkdir(2) refuses a longer name. */
const MAX_NAME_BYTES = 255;

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

/** The image's WorkingDir ('' is '/') checked and resolved through its layers (bottom-most first). */
export async function resolveWorkingDir(dir: string, layerDirs: string[]): Promise<WorkingDir> {
  if (dir === '' || dir === '/') return { path: '/' };
  const problem = workingDirTextProblem(dir);
  if (problem !== undefined) return { problem };
  const resolved = await resolveInLayers(layerDirs, dir, forbiddenRootOf);
  if (resolved.kind === 'refused') return { problem: resolved.reason };
  return { path: resolved.path };
}

/** The message of a WorkingDir that has a problem, as pulls, imports and jobs say it. */
export function workingDirMessage(dir: string, problem: string): string {
  return `config.WorkingDir ${JSON.stringify(dir)} cannot be a job's working directory: ${problem}`;
}
