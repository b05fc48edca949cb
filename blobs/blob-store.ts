/**
 * A content-addressed store of blobs (test data uploaded once): each blob is one read-only file
 * named by the SHA-256 of its bytes, `<root>/sha256/<hex>`, written once whoever uploads it.
 * An upload streams into `<root>/tmp/` while it is hashed and counted (never buffered), and is
 * renamed into place only when complete and verified: a reader sees a whole blob or none. Who may
 * see a blob (its tenants) is the db's business, not the store's.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { chmod, link, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, isBlobDigest } from '../contract/blob-digest.js';
import { BlobStoreError } from './blob-store-error.js';

export interface StoredBlob {
  digest: string;
  size: number;
}

export interface PutOptions {
  /** Largest size accepted; the upload stops at the byte that crosses it (BlobStoreError too_large). */
  maxBytes: number;
  /** The digest the uploader claims: the bytes must hash to it (BlobStoreError digest_mismatch). */
  expected?: string;
  /**
   * Bytes past maxBytes that are still read (and dropped) before the upload fails, so that the
   * sender can finish and its connection stays usable; a source longer than that is cut. Default 0.
   */
  discardBytes?: number;
}

export interface BlobFileInfo extends StoredBlob {
  /** The file's last write, epoch ms: a blob stored again is touched, so its age restarts. */
  mtimeMs: number;
}

export class BlobStore {
  private readonly dir: string;
  private readonly tmp: string;

  /** root: a directory of its own (`<WARMBOX_DATA>/blobs`), made on first use. */
  constructor(readonly root: string) {
    this.dir = join(root, 'sha256');
    this.tmp = join(root, 'tmp');
  }

  /** Where the blob's file is (or would be): what the launcher opens. */
  pathOf(digest: string): string {
    return join(this.dir, digestHex(digest));
  }

  /** The blob's size when the store holds it. */
  async sizeOf(digest: string): Promise<number | undefined> {
    try {
      const s = await stat(this.pathOf(digest));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Streams bytes into the store; returns their digest and size. Nothing is left behind by a refused upload. */
  async put(source: Readable, opts: PutOptions): Promise<StoredBlob> {
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const staging = join(this.tmp, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const tooLarge = () => new BlobStoreError('too_large', `the blob is larger than the maximum ${opts.maxBytes} bytes`, { maximum: opts.maxBytes });
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > opts.maxBytes + (opts.discardBytes ?? 0)) return done(tooLarge());
        if (size > opts.maxBytes) return done(); // read to the end, dropped
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        done(size > opts.maxBytes ? tooLarge() : null);
      },
    });
    try {
      await pipeline(source, count, createWriteStream(staging, { flags: 'wx', mode: 0o600 }));
      const digest = `sha256:${hash.digest('hex')}`;
      if (opts.expected !== undefined && opts.expected !== digest) {
        throw new BlobStoreError('digest_mismatch', `the bytes hash to ${digest}, not ${opts.expected}`, { actual: digest });
      }
      await this.admit(staging, digest);
      return { digest, size };
    } finally {
      await rm(staging, { force: true });
    }
  }

  /**
   * Renames a complete, verified file into place (atomic: a reader sees the whole blob or none).
   * Bytes already stored under the digest are the same bytes: they stay, and their age restarts.
   */
  private async admit(staging: string, digest: string): Promise<void> {
    const target = this.pathOf(digest);
    if ((await this.sizeOf(digest)) !== undefined) {
      const now = new Date();
      await utimes(target, now, now);
      return;
    }
    // Read-only for everyone; the launcher (root) reads it for a job, which never sees this path.
    await chmod(staging, 0o444);
    await rename(staging, target);
  }

  /**
   * Links a file that holds the digest's bytes already (a blob of the snapshot store, content-
   * addressed and verified there, on the same file system) into place: the same bytes stored
   * twice without a copy. False when it cannot be linked (another file system): copy it then.
   */
  async linkFrom(digest: string, path: string): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const target = this.pathOf(digest);
    try {
      await link(path, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') return false;
      if (code !== 'EEXIST') throw err;
    }
    const now = new Date();
    await utimes(target, now, now); // its age restarts, as a blob stored again does
    return true;
  }

  /** The blob's bytes; throws ENOENT when the store does not hold it. */
  open(digest: string): ReadStream {
    return createReadStream(this.pathOf(digest));
  }

  /** Every blob the store holds, with its file's age (what collection decides on). */
  async list(): Promise<BlobFileInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const blobs: BlobFileInfo[] = [];
    for (const name of names) {
      const digest = `sha256:${name}`;
      if (!isBlobDigest(digest)) continue;
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (s?.isFile()) blobs.push({ digest, size: s.size, mtimeMs: s.mtimeMs });
    }
    return blobs;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** Removes staging files older than minAgeMs: uploads a crash broke off. */
  async removeStaleStaging(minAgeMs: number, now = Date.now()): Promise<void> {
    const names = await readdir(this.tmp).catch(() => [] as string[]);
    for (const name of names) {
      const s = await stat(join(this.tmp, name)).catch(() => undefined);
      if (s !== undefined && now - s.mtimeMs >= minAgeMs) await rm(join(this.tmp, name), { force: true });
    }
  }
}
