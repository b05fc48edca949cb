/**
 * Layer unpacking, through SnapshotStore.addLayer on real tars: hostile entries are rejected whole,
 * everything else lands exactly (modes, owners, times, links), and OCI whiteouts become overlayfs
 * ones — checked by mounting overlayfs over the unpacked layers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { encodeTar, type TarEntry } from '../../images/store/layer-tar.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const needsRoot = process.getuid?.() !== 0 ? 'needs root (chown, mknod, trusted xattrs, mount)' : false;
const T = new Date('2021-03-04T05:06:07Z');
const hasUmoci = await run('umoci', ['--version']).then(() => true, () => false);

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function file(path: string, content: string, extra: Partial<TarEntry> = {}): TarEntry {
  return { path, type: 'File', mode: 0o644, mtime: T, data: Buffer.from(content), ...extra };
}

function dir(path: string, extra: Partial<TarEntry> = {}): TarEntry {
  return { path, type: 'Directory', mode: 0o755, mtime: T, ...extra };
}

function symlink(path: string, target: string): TarEntry {
  return { path, type: 'SymbolicLink', mode: 0o777, mtime: T, linkpath: target };
}

function hardLink(path: string, target: string): TarEntry {
  return { path, type: 'Link', mode: 0o644, mtime: T, linkpath: target };
}

describe('layer unpacking', { skip: needsRoot }, () => {
  let tmp: string | undefined;
  let root: string;
  let outside: string;
  let store: SnapshotStore;

  before(async () => {
    tmp = await makeTempDir('layers');
    root = join(tmp, 'store');
    outside = join(tmp, 'outside');
    await mkdir(outside);
    store = new SnapshotStore(root);
    await store.init();
  });
  after(() => removeTempDir(tmp));

  async function add(entries: TarEntry[], gzip = false): Promise<{ diffId: string; dir: string }> {
    const tar = encodeTar(entries);
    const blob = await store.putBlob(gzip ? gzipSync(tar) : tar);
    return store.addLayer(blob.digest);
  }

  async function assertRejected(entries: TarEntry[], code: string, message: RegExp): Promise<void> {
    const layersBefore = await readdir(join(root, 'layers', 'sha256'));
    const indexBefore = await readdir(join(root, 'diffids', 'sha256'));
    await assert.rejects(add(entries), (err: unknown) => {
      assert.ok(err instanceof ImageStoreError, `not an ImageStoreError: ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      return true;
    });
    assert.deepEqual(await readdir(join(root, 'layers', 'sha256')), layersBefore, 'no layer was added');
    assert.deepEqual(await readdir(join(root, 'diffids', 'sha256')), indexBefore, 'no diff_id was recorded');
    assert.deepEqual(await readdir(join(root, 'tmp')), [], 'staging was cleaned up');
    assert.deepEqual(await readdir(outside), [], 'nothing was written outside');
  }

  describe('rejects, leaving nothing behind,', () => {
    it("a path with a '..' component", async () => {
      await assertRejected([file('ok', 'fine'), file('../x', 'escaped')], 'unsafe_layer', /'\.\.' component/);
      await assertRejected([file('a/../../x', 'escaped')], 'unsafe_layer', /'\.\.' component/);
    });

    it('an absolute path', async () => {
      await assertRejected([file(join(outside, 'abs'), 'escaped')], 'unsafe_layer', /absolute/);
    });

    it('an entry written through a symlink, even one pointing inside the layer', async () => {
      await assertRejected([symlink('link', outside), file('link/pwned', 'escaped')], 'unsafe_layer', /through the symlink link/);
      await assertRejected([dir('real'), symlink('alias', 'real'), file('alias/f', 'x')], 'unsafe_layer', /through the symlink alias/);
      await assertRejected([symlink('l', outside), dir('l/sub')], 'unsafe_layer', /through the symlink l/);
    });

    it('a hard link whose target escapes, is absolute, or is not in the layer', async () => {
      await assertRejected([hardLink('h', '../../../etc/passwd')], 'unsafe_layer', /'\.\.' component/);
      await assertRejected([hardLink('h', '/etc/passwd')], 'unsafe_layer', /absolute/);
      await assertRejected([hardLink('h', 'etc/passwd')], 'unsafe_layer', /not a file earlier in this layer/);
      await assertRejected([symlink('l', outside), hardLink('h', 'l/x')], 'unsafe_layer', /not a file earlier in this layer/);
    });

    it('an entry below a regular file', async () => {
      await assertRejected([file('f', 'x'), file('f/g', 'y')], 'unsafe_layer', /parent f is a file/);
    });

    it('a whiteout of no name', async () => {
      await assertRejected([file('a/.wh...', '')], 'unsafe_layer', /whiteout/);
    });

    it('bytes that are not a tar, and a truncated tar', async () => {
      const garbage = Buffer.alloc(4096, 0x41);
      const blob = await store.putBlob(garbage);
      await assert.rejects(store.addLayer(blob.digest), { code: 'invalid_layer' });
      const tar = encodeTar([file('big', 'x'.repeat(5000))]);
      const truncated = await store.putBlob(tar.subarray(0, 2048));
      await assert.rejects(store.addLayer(truncated.digest), { code: 'invalid_layer' });
      const corruptGzip = await store.putBlob(gzipSync(tar).subarray(0, 100));
      await assert.rejects(store.addLayer(corruptGzip.digest), { code: 'invalid_layer' });
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
    });
  });

  it('accepts an empty layer (an all-zero tar)', async () => {
    const blob = await store.putBlob(Buffer.alloc(1024));
    const layer = await store.addLayer(blob.digest);
    assert.deepEqual(await readdir(layer.dir), []);
    assert.equal((await stat(layer.dir)).mode & 0o7777, 0o755);
  });

  it('keeps modes, owners, times, symlinks, hard links and FIFOs exactly', async () => {
    const layer = await add([
      dir('bin', { mode: 0o751, uid: 0, gid: 0 }),
      file('bin/su', 'setuid', { mode: 0o4755, uid: 0, gid: 0 }),
      file('bin/wall', 'setgid', { mode: 0o2755, uid: 0, gid: 5 }),
      dir('tmp', { mode: 0o1777 }),
      dir('home/user', { mode: 0o700, uid: 1000, gid: 1001 }),
      file('home/user/notes', 'mine', { mode: 0o600, uid: 1000, gid: 1001 }),
      symlink('home/user/link', '/etc/hostname'),
      symlink('lib', 'usr/lib'),
      hardLink('bin/su-again', 'bin/su'),
      { path: 'run/fifo', type: 'FIFO', mode: 0o620, mtime: T, uid: 7, gid: 8 },
      { path: 'dev/null', type: 'CharacterDevice', mode: 0o666, mtime: T, devmaj: 1, devmin: 3 },
      { path: 'dev/sda', type: 'BlockDevice', mode: 0o660, mtime: T, devmaj: 8, devmin: 0 },
    ], true);

    const at = (p: string): string => join(layer.dir, p);
    const su = await stat(at('bin/su'));
    assert.equal(su.mode & 0o7777, 0o4755);
    assert.equal(su.mtime.getTime(), T.getTime());
    assert.equal(await readFile(at('bin/su'), 'utf8'), 'setuid');
    const wall = await stat(at('bin/wall'));
    assert.equal(wall.mode & 0o7777, 0o2755);
    assert.equal(wall.gid, 5);
    assert.equal((await stat(at('bin'))).mode & 0o7777, 0o751);
    assert.equal((await stat(at('bin'))).mtime.getTime(), T.getTime(), 'directory mtime set after its children');
    assert.equal((await stat(at('tmp'))).mode & 0o7777, 0o1777);

    const home = await stat(at('home/user'));
    assert.deepEqual([home.mode & 0o7777, home.uid, home.gid], [0o700, 1000, 1001]);
    const notes = await stat(at('home/user/notes'));
    assert.deepEqual([notes.mode & 0o7777, notes.uid, notes.gid], [0o600, 1000, 1001]);
    assert.equal((await stat(at('home'))).mode & 0o7777, 0o755, 'implicit parents are 0755');

    assert.equal(await readlink(at('home/user/link')), '/etc/hostname');
    assert.equal((await lstat(at('home/user/link'))).mtime.getTime(), T.getTime());
    assert.equal(await readlink(at('lib')), 'usr/lib');

    const again = await stat(at('bin/su-again'));
    assert.equal(again.ino, su.ino);
    assert.equal(again.nlink, 2);

    const fifo = await lstat(at('run/fifo'));
    assert.ok(fifo.isFIFO());
    assert.deepEqual([fifo.mode & 0o7777, fifo.uid, fifo.gid], [0o620, 7, 8]);

    await assert.rejects(lstat(at('dev')), { code: 'ENOENT' }, 'device nodes are skipped');
  });

  it('lets a later entry replace an earlier one, as tar does', async () => {
    const layer = await add([
      file('x', 'first'),
      file('x', 'second'),
      dir('d'),
      file('d/inner', 'gone with d'),
      symlink('d', 'elsewhere'),
      symlink('s', 'one'),
      dir('s'),
      file('s/ok', 'now a directory'),
    ]);
    assert.equal(await readFile(join(layer.dir, 'x'), 'utf8'), 'second');
    assert.equal(await readlink(join(layer.dir, 'd')), 'elsewhere');
    assert.equal(await readFile(join(layer.dir, 's', 'ok'), 'utf8'), 'now a directory');
  });

  it('turns whiteouts into what overlayfs hides files with', async () => {
    const lower = await add([
      dir('a'), file('a/keep', 'keep'), file('a/gone', 'delete me'),
      dir('d'), file('d/old1', 'old'), dir('d/oldsub'), file('d/oldsub/deep', 'old'),
      file('top-gone', 'delete me too'),
    ]);
    const upper = await add([
      dir('a'), file('a/.wh.gone', ''),
      file('.wh.top-gone', ''),
      dir('d'), file('d/.wh..wh..opq', ''), file('d/new', 'new'),
      file('a/.wh..wh.plnk', ''), // aufs metadata: ignored
    ]);

    const whiteout = await lstat(join(upper.dir, 'a', 'gone'));
    assert.ok(whiteout.isCharacterDevice(), 'a/gone is a character device');
    assert.equal(whiteout.rdev, 0, 'with device number 0:0');
    assert.ok((await lstat(join(upper.dir, 'top-gone'))).isCharacterDevice());
    const { stdout } = await run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(upper.dir, 'd')]);
    assert.equal(stdout, 'y');
    assert.deepEqual((await readdir(join(upper.dir, 'a'))).sort(), ['gone']);

    // The proof: overlayfs over both hides what the upper layer deleted.
    const mnt = join(tmp ?? '', 'mnt');
    await mkdir(mnt);
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${upper.dir}:${lower.dir}`, mnt]);
    try {
      assert.deepEqual((await readdir(mnt)).sort(), ['a', 'd']);
      assert.deepEqual((await readdir(join(mnt, 'a'))).sort(), ['keep']);
      assert.equal(await readFile(join(mnt, 'a', 'keep'), 'utf8'), 'keep');
      assert.deepEqual((await readdir(join(mnt, 'd'))).sort(), ['new']);
    } finally {
      await run('umount', [mnt]);
    }
  });

  it("stores a multi-layer image made by umoci, whose whiteout hides the lower layer's file", { skip: hasUmoci ? false : 'umoci is not installed (npm run setup installs it)' }, async () => {
    // Built the way FACTS.md describes: unpack, change, repack; deleting a file yields a whiteout.
    const work = join(tmp ?? '', 'umoci');
    await mkdir(work);
    const image = `${join(work, 'layout')}:img`;
    const bundle = join(work, 'bundle');
    await run('umoci', ['init', '--layout', join(work, 'layout')]);
    await run('umoci', ['new', '--image', image]);
    await run('umoci', ['unpack', '--image', image, bundle]);
    await mkdir(join(bundle, 'rootfs', 'd'));
    await writeFile(join(bundle, 'rootfs', 'd', 'a'), 'a');
    await writeFile(join(bundle, 'rootfs', 'd', 'b'), 'b');
    await run('umoci', ['repack', '--image', image, bundle]);
    await removeTempDir(bundle);
    await run('umoci', ['unpack', '--image', image, bundle]);
    await removeTempDir(join(bundle, 'rootfs', 'd', 'a'));
    await run('umoci', ['repack', '--image', image, bundle]);

    // Import the OCI layout blob by blob, as a tarball import will.
    const blobs = join(work, 'layout', 'blobs', 'sha256');
    const readBlob = (digest: string): Promise<Buffer> => readFile(join(blobs, digest.slice('sha256:'.length)));
    const index = JSON.parse(await readFile(join(work, 'layout', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifestDigest = index.manifests[0]?.digest ?? '';
    const manifest = JSON.parse((await readBlob(manifestDigest)).toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
    const config = JSON.parse((await readBlob(manifest.config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
    for (const [i, layer] of manifest.layers.entries()) {
      await store.putBlob(await readBlob(layer.digest), layer.digest);
      await store.addLayer(layer.digest, config.rootfs.diff_ids[i]);
    }
    await store.putBlob(await readBlob(manifest.config.digest), manifest.config.digest);
    await store.putBlob(await readBlob(manifestDigest), manifestDigest);
    await store.tagImage('localhost:5000/umoci/img:1', manifestDigest);

    const stored = await store.resolve('localhost:5000/umoci/img:1');
    assert.ok(stored);
    assert.equal(stored.layerDirs.length, 2);
    const mnt = join(work, 'mnt');
    await mkdir(mnt);
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...stored.layerDirs].reverse().join(':')}`, mnt]);
    try {
      assert.deepEqual(await readdir(join(mnt, 'd')), ['b']);
    } finally {
      await run('umount', [mnt]);
    }
  });

  it('computes the diff_id from the uncompressed tar, whatever the compression', async () => {
    const tar = encodeTar([file('same', 'content')]);
    const plain = await add([file('same', 'content')]);
    const gz = await add([file('same', 'content')], true);
    assert.equal(plain.diffId, sha256(tar));
    assert.deepEqual(gz, plain);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('refuses a tar compressed twice', async () => {
    const blob = await store.putBlob(gzipSync(gzipSync(encodeTar([file('x', 'y')]))));
    await assert.rejects(store.addLayer(blob.digest), { code: 'invalid_layer', message: /compressed again/ });
  });

  it('handles long names (PAX headers)', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    const target = `${'t'.repeat(200)}`;
    const layer = await add([file(long, 'long'), symlink('s', target)]);
    assert.equal(await readFile(join(layer.dir, long), 'utf8'), 'long');
    assert.equal(await readlink(join(layer.dir, 's')), target);
  });

  it('never follows a symlink the layer planted, even when a later file has its name', async () => {
    const victim = join(outside, 'victim');
    await writeFile(victim, 'host file');
    try {
      const layer = await add([symlink('f', victim), file('f', 'overwritten?')]);
      assert.equal(await readFile(victim, 'utf8'), 'host file');
      assert.ok((await lstat(join(layer.dir, 'f'))).isFile());
    } finally {
      await removeTempDir(victim);
    }
  });
});
