/**
 * Every path of the snapshot store is built here, from its root:
 *
 *   blobs/sha256/<hex>                  content-addressed blobs: layer tars (as given), config, manifest
 *   layers/sha256/<diffid-hex>/         one unpacked layer: an overlayfs lower dir shared by all images
 *   diffids/sha256/<blob-hex>           'sha256:<diffid>' of a layer blob already unpacked (skip re-hashing)
 *   refs/<registry>/<repository>/_tags/<tag>                  → 'sha256:<manifest digest>'
 *   refs/<registry>/<repository>/_digests/sha256/<hex>        → the same digest (pinned references)
 *   tmp/                                staging; entries are named '<pid>-…' so that a restart can
 *                                       tell a crashed writer's garbage from a live one's work
 *
 * Repository path components match [a-z0-9]+ with separators, so they can never be '_tags',
 * '_digests', '.' or '..' (see contract/image-reference.ts): a reference maps to exactly one file.
 */
import { join, sep } from 'node:path';
import { formatReference, type ImageReference } from '../../contract/image-reference.js';
import { sha256Hex } from './digest.js';

const TAGS_DIR = '_tags';
const DIGESTS_DIR = '_digests';

export class StoreLayout {
  readonly blobsDir: string;
  readonly layersDir: string;
  readonly diffIdsDir: string;
  readonly refsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.layersDir = join(root, 'layers', 'sha256');
    this.diffIdsDir = join(root, 'diffids', 'sha256');
    this.refsDir = join(root, 'refs');
    this.tmpDir = join(root, 'tmp');
  }

  /** Directories init() creates; the root and layers/ are private (see image-store.ts). */
  get dirs(): string[] {
    return [this.root, this.blobsDir, this.layersDir, this.diffIdsDir, this.refsDir, this.tmpDir];
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, sha256Hex(digest));
  }

  layerDir(diffId: string): string {
    return join(this.layersDir, sha256Hex(diffId));
  }

  diffIdIndexPath(blobDigest: string): string {
    return join(this.diffIdsDir, sha256Hex(blobDigest));
  }

  /** The ref file of a parsed, normalized reference; a digest wins over a tag (as in Docker). */
  refPath(ref: ImageReference): string {
    const base = join(this.refsDir, ref.registry, ...ref.repository.split('/'));
    if (ref.digest !== undefined) return join(base, DIGESTS_DIR, 'sha256', sha256Hex(ref.digest));
    if (ref.tag === undefined) throw new Error(`reference ${formatReference(ref)} has neither tag nor digest`);
    return join(base, TAGS_DIR, ref.tag);
  }

  /** The inverse of refPath, for a path relative to refs/; undefined for anything else. */
  referenceOfRefPath(relativePath: string): ImageReference | undefined {
    const parts = relativePath.split(sep);
    const registry = parts[0];
    const tagAt = parts.lastIndexOf(TAGS_DIR);
    if (registry !== undefined && tagAt >= 2 && tagAt === parts.length - 2) {
      return { registry, repository: parts.slice(1, tagAt).join('/'), tag: parts[tagAt + 1] as string };
    }
    const digestAt = parts.lastIndexOf(DIGESTS_DIR);
    if (registry !== undefined && digestAt >= 2 && digestAt === parts.length - 3 && parts[digestAt + 1] === 'sha256') {
      return { registry, repository: parts.slice(1, digestAt).join('/'), digest: `sha256:${parts[digestAt + 2]}` };
    }
    return undefined;
  }
}
