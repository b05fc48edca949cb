/**
 * Reads an image archive tar (gzip-compressed or not) once, in order, into the store's staging: each
 * regular file becomes a staging file named by its position, never by its archive path, and links are
 * kept as archive paths (archive-source.ts resolves them inside the archive). Nothing is created at an
 * archive path, so no entry can write outside the staging directory, whatever its name or target.
 *
 * Bounded while it reads: the decompressed archive is charged to an UnpackBudget (its bytes and
 * entries), so a small gzip upload that inflates to gigabytes stops at the bound. Whatever goes wrong
 * (a corrupt gzip stream, a truncated tar, a bound), the file being written is ended before this
 * returns, so that the caller can remove the staging directory with nothing still writing into it.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ImageStoreError } from '../image-store-error.js';
import { ImageImportError } from './image-import-error.js';
import { compressionOf } from './layer-stream.js';
import { readHead } from './file-head.js';
import { chargedTo, type UnpackBudget } from './unpack-budget.js';

export type TarNode = { file: string } | { link: string };

/**
 * The archive's files and links by normalized archive path. `normalize` is archivePath of
 * archive-source.ts (it refuses paths that leave the archive); `what` names the archive in messages.
 */
export async function stageTar(
  tarPath: string,
  staging: string,
  opts: { budget: UnpackBudget; normalize: (raw: string) => string; what: string },
): Promise<Map<string, TarNode>> {
  const compression = compressionOf(await readHead(tarPath, 4));
  if (compression === 'zstd') throw new ImageImportError('invalid_archive', `${opts.what} is zstd-compressed: decompress it first (zstd -d)`);
  const stager = new TarStager(staging, opts);
  try {
    if (compression === 'gzip') await pipeline(createReadStream(tarPath), createGunzip(), chargedTo(opts.budget), stager.sink);
    else await pipeline(createReadStream(tarPath), chargedTo(opts.budget), stager.sink);
  } catch (err) {
    stager.fail(archiveError(err, opts.what));
  }
  await stager.settled();
  if (stager.failure) throw stager.failure;
  if (stager.nodes.size === 0) throw new ImageImportError('invalid_archive', `${opts.what} holds no files: not an image archive`);
  return stager.nodes;
}

/** Feeds tar's parser and stages its entries strictly in order; the first failure stops it. */
class TarStager {
  readonly nodes = new Map<string, TarNode>();
  readonly sink: Writable;
  failure: Error | undefined;
  readonly #parser = new Parser({ strict: true });
  #chain: Promise<void> = Promise.resolve();
  #current: ReadEntry | undefined;
  #files = 0;

  constructor(private readonly staging: string, private readonly opts: { budget: UnpackBudget; normalize: (raw: string) => string; what: string }) {
    const parser = this.#parser;
    parser.on('entry', (entry: ReadEntry) => this.#enqueue(entry));
    parser.on('warn', (code: string, message: string) => this.fail(new ImageImportError('invalid_archive', `${opts.what} is not a valid tar: ${code}: ${message}`)));
    parser.on('error', (err: Error) => this.fail(new ImageImportError('invalid_archive', `${opts.what} is not a valid tar: ${err.message}`, { cause: err })));
    this.sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.failure) return callback(this.failure);
        if (parser.write(chunk)) callback();
        else parser.once('drain', () => callback());
      },
      final: (callback) => {
        parser.once('end', () => this.#chain.then(() => callback(this.failure), callback));
        parser.end();
      },
    });
  }

  /** Resolves when no entry is being staged any more. */
  settled(): Promise<void> {
    return this.#chain;
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.#current?.destroy(); // ends a file body that will never come
    this.sink.destroy(err); // and the input, which may wait for a parser that stopped
  }

  #enqueue(entry: ReadEntry): void {
    this.#chain = this.#chain.then(async () => {
      if (this.failure) return void entry.resume();
      this.#current = entry;
      try {
        this.opts.budget.addEntry();
        await this.#stage(entry);
      } catch (err) {
        entry.resume();
        this.fail(err as Error);
      } finally {
        this.#current = undefined;
      }
    });
  }

  async #stage(entry: ReadEntry): Promise<void> {
    const path = this.opts.normalize(entry.path);
    if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
      const file = join(this.staging, String(this.#files++));
      // Not stream.pipeline: it does not see a ReadEntry that fail() destroys end. The iterator does, if
      // it is waiting at that moment: a failure during a write is seen by the check after it.
      const fh = await open(file, 'wx', 0o600);
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          await fh.write(chunk);
          if (this.failure) break;
        }
      } finally {
        await fh.close();
      }
      this.nodes.set(path, { file });
    } else if (entry.type === 'SymbolicLink') {
      // Docker ≥ 25 writes the legacy '<id>/layer.tar' as a symlink to '../blobs/sha256/<hex>'.
      const target = entry.linkpath ?? '';
      if (target.startsWith('/')) throw new ImageImportError('unsafe_archive', `archive symlink ${path} → ${target} is absolute`);
      this.nodes.set(path, { link: this.opts.normalize(posix.join(posix.dirname(path), target)) });
      entry.resume();
    } else if (entry.type === 'Link') {
      this.nodes.set(path, { link: this.opts.normalize(entry.linkpath ?? '') });
      entry.resume();
    } else {
      entry.resume(); // directories, and anything else an image archive has no use for
    }
  }
}

/** A stream's failure as what it says about the archive: bad input, never the server's fault. */
function archiveError(err: unknown, what: string): Error {
  if (err instanceof ImageImportError || err instanceof ImageStoreError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/^Z_/.test(code)) return new ImageImportError('invalid_archive', `${what} does not decompress: ${(err as Error).message} (${code})`, { cause: err });
  return err as Error;
}
