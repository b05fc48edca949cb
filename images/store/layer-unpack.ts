/**
 * Unpacks one OCI layer tar into a fresh directory that becomes an overlayfs lower dir.
 *
 * Safe: an entry whose path is absolute or has a '..' component, a hard link whose target is, and an
 * entry that would be written through a symlink (or under a non-directory) are rejected, and the whole
 * layer with them: the caller unpacks into staging and removes it on error. The walk never asks the
 * file system which names are symlinks: it keeps its own map of what this layer has made, which is
 * exact because the directory starts empty and nothing else writes into it; files are created with
 * O_EXCL|O_NOFOLLOW as a second line.
 *
 * Exact: regular files, directories, symlinks, hard links and FIFOs keep their mode (setuid, setgid
 * and sticky bits included), uid/gid and mtime from the tar (which needs root, as the store has).
 * OCI whiteouts become overlayfs ones: '.wh.<name>' → a 0:0 character device <name>, and
 * '.wh..wh..opq' → xattr trusted.overlay.opaque=y on its directory. Other device nodes are skipped: a
 * sandbox gets its /dev from the launcher. Extended attributes in PAX headers (SCHILY.xattr.*) are not
 * applied: a layer must never set trusted.overlay.* itself, and file capabilities are useless under
 * no_new_privs with every capability dropped.
 *
 * The diff_id — the sha256 of the uncompressed tar — is computed from the very bytes the parser reads.
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, writeSync } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { ImageStoreError } from '../image-store-error.js';
import { DigestingStream } from './digest.js';
import { isCompressed, openLayerTar } from './layer-stream.js';
import { makeFifo, makeWhiteout, markOpaque } from './overlay-special-files.js';
import { chargedTo, type LayerStats, type UnpackBudget } from './unpack-budget.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const LAYER_ROOT_MODE = 0o755;
const EPOCH = new Date(0);

export interface UnpackedLayer {
  /** 'sha256:…' of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar, and its entries. */
  stats: LayerStats;
}

export interface UnpackOptions {
  /** How messages name the layer: 'layer sha256:…' (never a path of the host). */
  label: string;
  /** The image's bounds, charged as the layer streams (unpack-budget.ts). */
  budget: UnpackBudget;
}

/** Unpacks the layer blob at blobPath into dest, which must not exist yet. */
export async function unpackLayer(blobPath: string, dest: string, opts: UnpackOptions): Promise<UnpackedLayer> {
  await mkdir(dest, { mode: LAYER_ROOT_MODE });
  await chmod(dest, LAYER_ROOT_MODE); // not the umask's idea: the image's '/' must be traversable
  const writer = new LayerWriter(dest);
  const feeder = new EntryFeeder(writer, opts);
  const tap = new DigestingStream();
  try {
    await pipeline([...(await openLayerTar(blobPath)), chargedTo(opts.budget), tap, feeder.sink]);
  } catch (err) {
    feeder.fail(err as Error); // a stream before the parser failed: the entry being written ends too
    throw layerError(err, opts.label);
  } finally {
    await feeder.settled(); // nothing may still write into dest when the caller removes it
  }
  await writer.finish();
  return { diffId: tap.digest, stats: { tarBytes: tap.size, entries: feeder.entries } };
}

/** What went wrong, as the store's error naming the layer; failures of the host (I/O) as they are. */
function layerError(err: unknown, label: string): unknown {
  if (err instanceof ImageStoreError) {
    if (err.message.startsWith(label)) return err;
    return new ImageStoreError(err.code, `${label}: ${err.message}`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/^Z(STD)?_/.test(code)) {
    return new ImageStoreError('invalid_layer', `${label} does not decompress: ${(err as Error).message} (${code})`, { cause: err });
  }
  return err;
}

/**
 * Feeds tar's parser from a Writable and hands each parsed entry, strictly in order, to the writer.
 * The first failure (a parser warning, an unknown entry type, a rejected entry) stops everything.
 */
class EntryFeeder {
  readonly sink: Writable;
  readonly #parser = new Parser({ strict: false });
  #chain: Promise<void> = Promise.resolve();
  #current: ReadEntry | undefined;
  #failure: Error | undefined;
  #first = true;
  #sawData = false;
  #sawEntry = false;
  /** Entries the parser has found so far. */
  entries = 0;

  constructor(private readonly writer: LayerWriter, private readonly opts: UnpackOptions) {
    const parser = this.#parser;
    this.sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.#first) {
          this.#first = false;
          if (isCompressed(chunk)) return callback(this.#invalid('the tar inside is compressed again'));
        }
        if (!this.#sawData) this.#sawData = chunk.some((b) => b !== 0);
        if (parser.write(chunk)) callback();
        else parser.once('drain', () => callback());
      },
      final: (callback) => {
        parser.once('end', () => {
          this.#chain.then(() => callback(this.#failure), callback);
        });
        parser.end();
      },
    });
    parser.on('entry', (entry: ReadEntry) => {
      this.entries++;
      try {
        this.opts.budget.addEntry();
      } catch (err) {
        entry.resume();
        return this.fail(err as Error);
      }
      this.#enqueue(entry);
    });
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      this.fail(this.#invalid(`entry ${JSON.stringify(entry.path)} has an unsupported type ${entry.header.typeKey}`));
    });
    parser.on('warn', (code: string, message: string) => {
      // An all-zero tar (an empty layer, common in Docker images) is "Unrecognized archive format" to tar.
      if (code === 'TAR_BAD_ARCHIVE' && !this.#sawData && !this.#sawEntry) return;
      this.fail(this.#invalid(`${code}: ${message}`));
    });
    parser.on('error', (err: Error) => this.fail(this.#invalid(err.message)));
  }

  /** Resolves when no entry is being written any more. */
  settled(): Promise<void> {
    return this.#chain;
  }

  #enqueue(entry: ReadEntry): void {
    this.#sawEntry = true;
    this.#chain = this.#chain.then(async () => {
      if (this.#failure) return void entry.resume();
      this.#current = entry;
      try {
        await this.writer.add(entry);
      } catch (err) {
        entry.resume();
        this.fail(err instanceof ImageStoreError ? err
          : new ImageStoreError('invalid_layer', `${this.opts.label}: entry ${JSON.stringify(entry.path)}: ${(err as Error).message}`, { cause: err }));
      } finally {
        this.#current = undefined;
      }
    });
  }

  /** Stops everything: the entry being written ends, and the input. */
  fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#current?.destroy(); // ends a file body that will never come
    this.sink.destroy(err);
  }

  #invalid(reason: string): ImageStoreError {
    return new ImageStoreError('invalid_layer', `${this.opts.label} is not a valid tar: ${reason}`);
  }
}

type Kind = 'dir' | 'file' | 'symlink' | 'fifo' | 'whiteout';

/** Applies parsed entries to the layer directory, keeping the map of what it made. */
class LayerWriter {
  /** Relative path ('' is the root) → what this layer put there. */
  readonly #kinds = new Map<string, Kind>([['', 'dir']]);
  /** Directory times are set last: making their children changes them. */
  readonly #dirTimes = new Map<string, { atime: Date; mtime: Date }>();

  constructor(readonly root: string) {}

  async add(entry: ReadEntry): Promise<void> {
    const parts = safeParts(entry.path, 'path');
    const name = parts[parts.length - 1] ?? '';

    if (name === OPAQUE_MARKER) return this.#opaque(parts.slice(0, -1), entry);
    if (name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return void entry.resume(); // aufs metadata (.wh..wh.plnk)
    if (name.startsWith(WHITEOUT_PREFIX)) return this.#whiteout(parts, entry);

    switch (entry.type) {
      case 'Directory':
      case 'GNUDumpDir':
        return this.#directory(parts, entry);
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.#file(parts, entry);
      case 'SymbolicLink':
        return this.#symlink(parts, entry);
      case 'Link':
        return this.#hardLink(parts, entry);
      case 'FIFO':
        return this.#fifo(parts, entry);
      case 'CharacterDevice':
      case 'BlockDevice':
        return void entry.resume(); // the sandbox's /dev comes from the launcher, never from an image
      default:
        throw new ImageStoreError('invalid_layer', `entry ${JSON.stringify(entry.path)} has an unsupported type ${entry.type}`);
    }
  }

  /** Sets directory times, now that nothing more is written into them. */
  async finish(): Promise<void> {
    for (const [rel, { atime, mtime }] of this.#dirTimes) {
      if (this.#kinds.get(rel) === 'dir') await lutimes(this.#abs(rel), atime, mtime);
    }
  }

  async #directory(parts: string[], entry: ReadEntry): Promise<void> {
    const rel = await this.#prepare(parts, 'dir');
    const path = this.#abs(rel);
    if (!this.#kinds.has(rel)) {
      await mkdir(path, { mode: 0o700 });
      this.#kinds.set(rel, 'dir');
    }
    await lchown(path, entry.uid ?? 0, entry.gid ?? 0);
    await chmod(path, entry.mode ?? 0o755);
    this.#dirTimes.set(rel, times(entry));
    entry.resume();
  }

  async #file(parts: string[], entry: ReadEntry): Promise<void> {
    const rel = await this.#prepare(parts, 'file');
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    // Synchronous calls on purpose: a layer is mostly small files, and each asynchronous fs call is a
    // round trip through libuv's thread pool — six per file made unpacking ~3x slower than umoci's
    // (bench/image-pull.ts). Each call is short, and the event loop still runs between input chunks.
    const fd = openSync(this.#abs(rel), flags, 0o600);
    this.#kinds.set(rel, 'file');
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      }
      fchownSync(fd, entry.uid ?? 0, entry.gid ?? 0);
      fchmodSync(fd, entry.mode ?? 0o644); // after chown, which clears setuid/setgid
      const t = times(entry);
      futimesSync(fd, t.atime, t.mtime);
    } finally {
      closeSync(fd);
    }
  }

  async #symlink(parts: string[], entry: ReadEntry): Promise<void> {
    const target = entry.linkpath ?? '';
    if (target === '' || target.includes('\0')) throw unsafe(entry.path, 'symlink without a valid target');
    const rel = await this.#prepare(parts, 'symlink');
    const path = this.#abs(rel);
    // The target is stored as is (absolute targets are normal: /bin → usr/bin); it is resolved only
    // inside the sandbox's own root, and this writer never follows it.
    await symlink(target, path);
    this.#kinds.set(rel, 'symlink');
    await lchown(path, entry.uid ?? 0, entry.gid ?? 0);
    const t = times(entry);
    await lutimes(path, t.atime, t.mtime);
    entry.resume();
  }

  async #hardLink(parts: string[], entry: ReadEntry): Promise<void> {
    const targetParts = safeParts(entry.linkpath ?? '', 'hard link target');
    const targetRel = targetParts.join('/');
    const rel = parts.join('/');
    entry.resume();
    if (targetRel === rel) return; // a link to itself: the file is already there
    const targetKind = this.#kinds.get(targetRel);
    if (targetKind === undefined || targetKind === 'dir' || targetKind === 'whiteout') {
      throw unsafe(entry.path, `hard link to ${JSON.stringify(entry.linkpath)}, which is not a file earlier in this layer`);
    }
    await this.#prepare(parts, targetKind);
    // link(2) does not follow a symlink target: linking one makes another name for the symlink.
    await link(this.#abs(targetRel), this.#abs(rel));
    this.#kinds.set(rel, targetKind);
  }

  async #fifo(parts: string[], entry: ReadEntry): Promise<void> {
    const rel = await this.#prepare(parts, 'fifo');
    const path = this.#abs(rel);
    await makeFifo(path);
    this.#kinds.set(rel, 'fifo');
    await lchown(path, entry.uid ?? 0, entry.gid ?? 0);
    await chmod(path, entry.mode ?? 0o644);
    const t = times(entry);
    await lutimes(path, t.atime, t.mtime);
    entry.resume();
  }

  async #whiteout(parts: string[], entry: ReadEntry): Promise<void> {
    const hidden = (parts[parts.length - 1] ?? '').slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw unsafe(entry.path, 'whiteout of no valid name');
    entry.resume();
    const rel = await this.#prepare([...parts.slice(0, -1), hidden], 'whiteout');
    await makeWhiteout(this.#abs(rel));
    this.#kinds.set(rel, 'whiteout');
  }

  async #opaque(dirParts: string[], entry: ReadEntry): Promise<void> {
    entry.resume();
    const rel = dirParts.join('/');
    if (this.#kinds.get(rel) !== 'dir') {
      await this.#prepare(dirParts, 'dir');
      await mkdir(this.#abs(rel), { mode: 0o755 });
      this.#kinds.set(rel, 'dir');
    }
    await markOpaque(this.#abs(rel));
  }

  /**
   * Makes the parents of parts (as 0755 root directories where the layer has none) after checking
   * that none is a symlink or a non-directory, and clears what the layer put at parts before, unless
   * a directory stays a directory. Returns the relative path.
   */
  async #prepare(parts: string[], next: Kind): Promise<string> {
    if (parts.length === 0) {
      if (next === 'dir') return '';
      throw unsafe('/', 'the layer root can only be a directory');
    }
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const kind = this.#kinds.get(prefix);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw unsafe(parts.join('/'), `would be written through the symlink ${prefix}`);
      if (kind !== undefined) throw unsafe(parts.join('/'), `its parent ${prefix} is a ${kind}, not a directory`);
      await mkdir(this.#abs(prefix), { mode: 0o755 });
      await chmod(this.#abs(prefix), 0o755);
      this.#kinds.set(prefix, 'dir');
    }
    const rel = parts.join('/');
    const existing = this.#kinds.get(rel);
    if (existing !== undefined && !(existing === 'dir' && next === 'dir')) {
      await rm(this.#abs(rel), { recursive: existing === 'dir', force: true });
      this.#forget(rel);
    }
    return rel;
  }

  #forget(rel: string): void {
    this.#kinds.delete(rel);
    this.#dirTimes.delete(rel);
    const below = `${rel}/`;
    for (const key of this.#kinds.keys()) {
      if (key.startsWith(below)) {
        this.#kinds.delete(key);
        this.#dirTimes.delete(key);
      }
    }
  }

  #abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }
}

/** Splits a tar path into components; rejects absolute paths, '..' and NUL. './a//b/' → ['a', 'b']. */
function safeParts(raw: string, what: string): string[] {
  if (raw.includes('\0')) throw unsafe(raw, `${what} contains NUL`);
  if (raw.startsWith('/')) throw unsafe(raw, `${what} is absolute`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(raw, `${what} has a '..' component`);
  return parts;
}

function times(entry: ReadEntry): { atime: Date; mtime: Date } {
  const mtime = entry.mtime ?? EPOCH;
  return { atime: entry.atime ?? mtime, mtime };
}

function unsafe(path: string, reason: string): ImageStoreError {
  return new ImageStoreError('unsafe_layer', `unsafe layer entry ${JSON.stringify(path)}: ${reason}`);
}
