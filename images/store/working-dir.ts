/**
 * An image's WorkingDir (config.WorkingDir), decided once when the image is loaded: either the
 * directory a sandbox of it starts its jobs in — resolved through the image's own layers, symlinks
 * followed inside the image's root (layered-path.ts), so that the launcher gets a path with no
 * symlink in it — or why no job can start there. Pulls and imports refuse an image whose WorkingDir
 * has a problem (422, field config.WorkingDir); the sandbox runtime checks again for images stored
 * before, and their jobs end with exit 126 and the reason on stderr.
 *
 * What a usable WorkingDir is, the store and the runtime share (contract/working-dir.ts); on the way
 * through the layers, no symlink may leave the root with '..', and nothing may be a regular file.
 * A path the image does not have is fine: the launcher creates it.
 */
import { forbiddenRootOf, workingDirTextProblem, type WorkingDir } from '../../contract/working-dir.js';
import { resolveInLayers } from './layered-path.js';

export { FORBIDDEN_WORKDIR_ROOTS, forbiddenRootOf, workingDirMessage, workingDirTextProblem, type WorkingDir } from '../../contract/working-dir.js';

/** The image's WorkingDir ('' is '/') checked and resolved through its layers (bottom-most first). */
export async function resolveWorkingDir(dir: string, layerDirs: string[]): Promise<WorkingDir> {
  if (dir === '' || dir === '/') return { path: '/' };
  const problem = workingDirTextProblem(dir);
  if (problem !== undefined) return { problem };
  const resolved = await resolveInLayers(layerDirs, dir, forbiddenRootOf);
  if (resolved.kind === 'refused') return { problem: resolved.reason };
  return { path: resolved.path };
}
