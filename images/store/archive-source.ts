/**
 * The files of an image archive, by their path inside it, whether the archive is a directory (an OCI
 * image layout) or a tar (`docker save`, or an OCI layout packed as a tar, gzip-compressed or not).
 *
 * A tar is read once, in order, into the store's staging (archive-staging.ts: files by position,
 * links as archive paths resolved inside the archive, bounded by the store's unpack bounds). Blobs
 * then enter the store by rename (SnapshotStore.adoptStagedBlob), hashed once more on the way in,
 * not copied again.
 */
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { PutBlobResult, SnapshotStore } from '../image-store.js';
import { ImageStoreError } from '../image-store-error.js';
import { stageTar, type TarNode } from './archive-staging.js';
import { ImageImportError } from './image-import-error.js';

const MAX_LINK_HOPS = 16;

export interface ArchiveSource {
  /** For messages: 'directory /x', 'the archive' (a tar's path, an upload's, is never shown). */
  readonly description: string;
  has(path: string): Promise<boolean>;
  /** A small file (manifest.json, index.json, a config), at most limit bytes. */
  read(path: string, limit: number): Promise<Buffer>;
  /** Stores the file as a blob, verified against expectedDigest when given. */
  putBlob(path: string, expectedDigest?: string): Promise<PutBlobResult>;
  /** Removes what opening it staged. */
  close(): Promise<void>;
}

/** Opens a directory or a tar file as an archive; a tar is staged in the store's tmp/. */
export async function openArchive(store: SnapshotStore, path: string): Promise<ArchiveSource> {
  const st = await stat(path);
  if (st.isDirectory()) return new DirectorySource(store, path);
  if (st.isFile()) return TarSource.extract(store, path);
  throw new ImageImportError('invalid_archive', `${path} is neither a directory nor a file`);
}

/**
 * The path of a file inside an archive, normalized: 'a/./b' → 'a/b'. Absolute paths and paths that
 * climb out with '..' are refused.
 */
export function archivePath(raw: string): string {
  if (raw.includes('\0') || raw.startsWith('/')) throw new ImageImportError('unsafe_archive', `archive path ${JSON.stringify(raw)} is absolute or has NUL`);
  const normal = posix.normalize(raw).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) throw new ImageImportError('unsafe_archive', `archive path ${JSON.stringify(raw)} leaves the archive`);
  return normal === '.' ? '' : normal;
}

class DirectorySource implements ArchiveSource {
  readonly description: string;

  constructor(private readonly store: SnapshotStore, private readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async has(path: string): Promise<boolean> {
    try {
      return (await stat(this.#abs(path))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async read(path: string, limit: number): Promise<Buffer> {
    return readLimited(this.#abs(path), limit, `${this.description}: ${path}`);
  }

  async putBlob(path: string, expectedDigest?: string): Promise<PutBlobResult> {
    if (!(await this.has(path))) throw missing(this.description, path);
    return this.store.putBlob(createReadStream(this.#abs(path)), expectedDigest);
  }

  async close(): Promise<void> {}

  #abs(path: string): string {
    return join(this.dir, archivePath(path));
  }
}

class TarSource implements ArchiveSource {
  readonly description: string;

  private constructor(
    private readonly store: SnapshotStore,
    private readonly staging: string,
    private readonly nodes: Map<string, TarNode>,
  ) {
    // Not its path: an upload's is the server's business, and messages go back to the client.
    this.description = 'the archive';
  }

  static async extract(store: SnapshotStore, tarPath: string): Promise<TarSource> {
    const staging = await store.makeStagingDir('import');
    try {
      const nodes = await stageTar(tarPath, staging, { budget: store.unpackBudget('the archive'), normalize: archivePath, what: 'the archive' });
      return new TarSource(store, staging, nodes);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  async has(path: string): Promise<boolean> {
    return this.#resolve(path) !== undefined;
  }

  async read(path: string, limit: number): Promise<Buffer> {
    const file = this.#resolve(path);
    if (file === undefined) throw missing(this.description, path);
    return readLimited(file, limit, `${this.description}: ${path}`);
  }

  async putBlob(path: string, expectedDigest?: string): Promise<PutBlobResult> {
    const file = this.#resolve(path);
    if (file === undefined) throw missing(this.description, path);
    // A file may be named twice (a link to it, two images with one layer): the first use moved it into
    // the store, later ones get the same blob.
    const done = this.#adopted.get(file);
    if (done) {
      if (expectedDigest !== undefined && done.digest !== expectedDigest) {
        throw new ImageStoreError('digest_mismatch', `${this.description}: ${path} has digest ${done.digest}, not the expected ${expectedDigest}`);
      }
      return done;
    }
    const result = await this.store.adoptStagedBlob(file, expectedDigest);
    this.#adopted.set(file, result);
    return result;
  }

  readonly #adopted = new Map<string, PutBlobResult>();

  async close(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }

  /** The staging file of an archive path, links followed inside the archive. */
  #resolve(path: string): string | undefined {
    let current = archivePath(path);
    for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
      const node = this.nodes.get(current);
      if (node === undefined) return undefined;
      if ('file' in node) return node.file;
      current = node.link;
    }
    throw new ImageImportError('invalid_archive', `${this.description}: ${path} is a chain of more than ${MAX_LINK_HOPS} links`);
  }
}

async function readLimited(file: string, limit: number, what: string): Promise<Buffer> {
  const st = await stat(file);
  if (st.size > limit) throw new ImageImportError('invalid_archive', `${what} is ${st.size} bytes, over the ${limit}-byte limit for it`);
  const fh = await open(file, 'r');
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

function missing(description: string, path: string): ImageImportError {
  return new ImageImportError('missing_blob', `${description} has no file ${path}, which its manifests name`);
}
