/**
 * Writes layer tars, byte for byte reproducible: the same tree gives the same diff_id. Headers are
 * encoded by tar's Header and Pax; entries come in a fixed order (sorted by name, parents first) with
 * nothing from the host that varies between runs (no atime, ctime, device or inode numbers, and
 * mtimes clamped to one latest time, as `tar --clamp-mtime` and SOURCE_DATE_EPOCH do). Used for the
 * built-in images and the recipe images; the writer does not sanitize, so tests use it to make
 * hostile layers too.
 *
 * Clamped, not replaced: a file older than the latest time keeps its own mtime, whole seconds. Files
 * a Debian package installs carry the package's times, and the .pyc that Python's postinst compiles
 * records its source's mtime and size; a layer with one mtime for every file made each of them stale,
 * so python3 compiled encodings, encodings.aliases, encodings.utf_8 and sitecustomize from source on
 * every start (~4 ms of CPU; README "What a run costs"). What a build writes now is newer than the
 * latest time and still gets it, so the same tree gives the same bytes as before.
 *
 * A tree can also be an overlayfs upper directory (the changes a build made on top of an image's
 * layers): its whiteouts then become OCI ones, a 0:0 character device `name` → an empty `.wh.name`,
 * and a directory marked opaque (xattr trusted.overlay.opaque=y) gets a `.wh..wh..opq` entry.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Header, Pax } from 'tar';

const BLOCK = 512;

export type TarEntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';

export interface TarEntry {
  /** Relative path, as it goes into the archive ('bin/sh'); directories without the trailing '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  /** Target of a symlink, or archive path of a hard link's file. */
  linkpath?: string;
  /** Content of a File. */
  data?: Buffer;
  devmaj?: number;
  devmin?: number;
}

export function encodeTar(entries: Iterable<TarEntry>): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'File' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    blocks.push(...headerBlocks(e, data.length), data, Buffer.alloc(padding(data.length)));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** The header block(s) of one entry whose data is `size` bytes: a PAX header first when needed. */
function headerBlocks(e: TarEntry, size: number): Buffer[] {
  const path = e.type === 'Directory' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
  const header = new Header({
    path,
    type: e.type,
    mode: e.mode,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size,
    mtime: e.mtime ?? new Date(0),
    linkpath: e.linkpath ?? '',
    uname: '',
    gname: '',
    devmaj: e.devmaj ?? 0,
    devmin: e.devmin ?? 0,
  });
  const blocks: Buffer[] = [];
  if (header.encode()) {
    // Too long for ustar's fields: the full values go into a PAX header before it.
    blocks.push(new Pax({ path, linkpath: e.linkpath, size }).encode());
  }
  if (!header.block) throw new Error(`tar header for ${e.path} was not encoded`);
  blocks.push(header.block);
  return blocks;
}

export interface TreeOptions {
  /**
   * The tree is an overlayfs upper directory: its whiteouts become OCI whiteouts, and these
   * directories (paths relative to the tree, as they go into the archive) are opaque.
   */
  overlayUpper?: { opaqueDirs: ReadonlySet<string> };
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** One entry of a directory tree, as both archivers below need it: a File's data is not read yet. */
interface TreeEntry {
  entry: TarEntry;
  /** For a File: where its content is ('' for an OCI whiteout, which is empty), and how long it was when walked. */
  abs: string;
  size: number;
}

/**
 * Walks a tree in sorted order, with ownership and modes as on disk, hard links as links to their
 * first name, and each mtime as on disk but no later than `mtime` (whiteouts and opaque markers get
 * `mtime` itself). Device nodes, FIFOs and sockets are left out (but for an overlayfs upper
 * directory's whiteouts, see TreeOptions).
 */
async function* walkTree(dir: string, mtime: Date, opts: TreeOptions, rel = '', firstNameOfInode = new Map<string, string>()): AsyncGenerator<TreeEntry> {
  const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort();
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const abs = join(dir, path);
    const st = await lstat(abs);
    const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: clampedMtime(st.mtimeMs, mtime) };
    if (st.isDirectory()) {
      yield { entry: { ...base, type: 'Directory' }, abs, size: 0 };
      if (opts.overlayUpper?.opaqueDirs.has(path)) yield { entry: { path: `${path}/${OPAQUE_MARKER}`, type: 'File', mode: 0, mtime }, abs: '', size: 0 };
      yield* walkTree(dir, mtime, opts, path, firstNameOfInode);
    } else if (opts.overlayUpper && st.isCharacterDevice() && st.rdev === 0) {
      const whiteout = rel === '' ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`;
      yield { entry: { path: whiteout, type: 'File', mode: 0, mtime }, abs: '', size: 0 };
    } else if (st.isSymbolicLink()) {
      yield { entry: { ...base, type: 'SymbolicLink', linkpath: await readlink(abs) }, abs, size: 0 };
    } else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstNameOfInode.get(inode) : undefined;
      if (first !== undefined) {
        yield { entry: { ...base, type: 'Link', linkpath: first }, abs, size: 0 };
      } else {
        firstNameOfInode.set(inode, path);
        yield { entry: { ...base, type: 'File' }, abs, size: st.size };
      }
    }
  }
}

/** A file's mtime in whole seconds (what ustar keeps, and what a .pyc compares), no later than `latest`, no earlier than 1970. */
function clampedMtime(mtimeMs: number, latest: Date): Date {
  const own = Math.max(0, Math.floor(mtimeMs / 1000) * 1000);
  return own < latest.getTime() ? new Date(own) : latest;
}

/**
 * The same bytes as encodeTar(await tarEntriesOfDir(dir, mtime)), produced as a stream: file contents
 * are read in chunks as they are written, so a tree of hundreds of megabytes (a Debian root) never
 * sits in memory. A file that changes size while it is read fails the stream.
 */
export async function* tarStreamOfDir(dir: string, mtime: Date, opts: TreeOptions = {}): AsyncGenerator<Buffer> {
  for await (const { entry, abs, size } of walkTree(dir, mtime, opts)) {
    yield* headerBlocks(entry, size);
    if (entry.type !== 'File' || abs === '') continue;
    let read = 0;
    for await (const chunk of createReadStream(abs) as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read > size) break;
      yield chunk;
    }
    if (read !== size) throw new Error(`${abs} changed size while it was archived (${size} → ${read} bytes)`);
    yield Buffer.alloc(padding(size));
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The entries of a directory tree (walkTree's order and rules), file contents read into memory. */
export async function tarEntriesOfDir(dir: string, mtime: Date, opts: TreeOptions = {}): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const { entry, abs } of walkTree(dir, mtime, opts)) {
    entries.push(entry.type === 'File' ? { ...entry, data: abs === '' ? Buffer.alloc(0) : await readFile(abs) } : entry);
  }
  return entries;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
