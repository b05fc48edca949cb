/**
 * Building images from a directory tree: the streamed tar is byte for byte the in-memory one, a
 * streamed, gzip-compressed layer image unpacks to the tree it was made from, and files keep their
 * own mtimes up to `created` (a .pyc, which records its source's mtime, stays current).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { buildStreamedLayerImage } from '../../images/store/image-builder.js';
import { encodeTar, tarEntriesOfDir, tarStreamOfDir } from '../../images/store/layer-tar.js';
import { treeListing } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;
const T = new Date('2024-04-04T04:04:04Z');
/** Debian's python (a `python3` earlier in PATH may be a wrapper, e.g. pyenv's shim). */
const PYTHON = '/usr/bin/python3';

describe('image builder', { skip: needsRoot }, () => {
  let tmp: string | undefined;
  let tree: string;

  before(async () => {
    tmp = await makeTempDir('builder');
    tree = join(tmp, 'tree');
    await mkdir(join(tree, 'usr', 'bin'), { recursive: true });
    await mkdir(join(tree, 'tmp'));
    await chmod(join(tree, 'tmp'), 0o1777);
    await writeFile(join(tree, 'usr', 'bin', 'tool'), Buffer.alloc(300_000, 'x'), { mode: 0o755 });
    await link(join(tree, 'usr', 'bin', 'tool'), join(tree, 'usr', 'bin', 'tool-alias'));
    await symlink('usr/bin', join(tree, 'bin'));
    await writeFile(join(tree, 'setuid'), 'x', { mode: 0o4755 });
    await chmod(join(tree, 'setuid'), 0o4755);
    await writeFile(join(tree, 'a'.repeat(120)), 'long name'); // needs a PAX header
  });
  after(() => removeTempDir(tmp));

  it('streams the same bytes encodeTar makes', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of Readable.from(tarStreamOfDir(tree, T))) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), encodeTar(await tarEntriesOfDir(tree, T)));
  });

  it('stores a streamed gzip layer image that unpacks to the tree', async () => {
    const store = new SnapshotStore(join(tmp ?? '', 'store'));
    await store.init();
    const digest = await buildStreamedLayerImage(store, {
      reference: 'built:1',
      rootfs: tree,
      created: T,
      config: { Cmd: ['tool'], WorkingDir: '/tmp' },
      createdBy: 'test',
    });
    const image = await store.resolve('built:1');
    assert.equal(image?.digest, digest);
    assert.equal(image?.layerDirs.length, 1);
    assert.deepEqual(image?.config.cmd, ['tool']);
    assert.deepEqual(await treeListing(image?.layerDirs[0] ?? ''), await treeListing(tree));
    const manifest = JSON.parse((await store.readBlob(digest)).toString());
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  });

  it('refuses a tree past the store\'s unpack bounds, and tags nothing', async () => {
    for (const unpackBounds of [{ maxUnpackedBytes: 100_000, maxEntries: 1000 }, { maxUnpackedBytes: 1 << 30, maxEntries: 5 }]) {
      const store = new SnapshotStore(join(tmp ?? '', `bounded-${unpackBounds.maxEntries}`), { unpackBounds });
      await store.init();
      const build = buildStreamedLayerImage(store, { reference: 'too-big:1', rootfs: tree, created: T, config: {}, createdBy: 'test' });
      await assert.rejects(build, (err: unknown) => {
        assert.ok(err instanceof ImageStoreError, String(err));
        assert.equal(err.code, unpackBounds.maxEntries === 5 ? 'entry_count_limit' : 'unpacked_size_limit');
        return true;
      });
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await readdir(join(store.root, 'layers', 'sha256')), []);
    }
  });

  it('keeps a file\'s own mtime (whole seconds) when it is older than created, and clamps later ones to created', async () => {
    const dir = join(tmp ?? '', 'times');
    await mkdir(dir);
    const old = new Date('2001-02-03T04:05:06.789Z');
    await writeFile(join(dir, 'old'), 'o');
    await utimes(join(dir, 'old'), old, old);
    await writeFile(join(dir, 'new'), 'n'); // now: later than T
    const mtimes = new Map((await tarEntriesOfDir(dir, T)).map((e) => [e.path, e.mtime?.getTime()]));
    assert.equal(mtimes.get('old'), Date.parse('2001-02-03T04:05:06Z'));
    assert.equal(mtimes.get('new'), T.getTime());
  });

  it('stores a .pyc with its source so that python uses it: the source keeps the mtime the .pyc records', { skip: !existsSync(PYTHON) && `no ${PYTHON}` }, async () => {
    const src = join(tmp ?? '', 'pytree');
    await mkdir(join(src, 'lib'), { recursive: true });
    await writeFile(join(src, 'lib', 'warmboxmod.py'), 'VALUE = 42\n');
    const installed = new Date('2023-01-01T00:00:00Z'); // as a Debian package's files are: older than the image
    await utimes(join(src, 'lib', 'warmboxmod.py'), installed, installed);
    await run(PYTHON, ['-m', 'py_compile', join(src, 'lib', 'warmboxmod.py')]);
    const store = new SnapshotStore(join(tmp ?? '', 'pystore'));
    await store.init();
    const created = new Date(Math.floor(Date.now() / 1000) * 1000);
    await buildStreamedLayerImage(store, { reference: 'py:1', rootfs: src, created, config: {}, createdBy: 'test' });
    const lib = join((await store.resolve('py:1'))?.layerDirs[0] ?? '', 'lib');
    assert.equal((await stat(join(lib, 'warmboxmod.py'))).mtime.getTime(), installed.getTime());
    const { stdout, stderr } = await run(PYTHON, ['-v', '-c', 'import warmboxmod; print(warmboxmod.VALUE)'], {
      env: { PATH: '/usr/bin:/bin', PYTHONPATH: lib, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' },
    });
    assert.equal(stdout, '42\n');
    assert.doesNotMatch(stderr, /bytecode is stale for 'warmboxmod'/);
    assert.match(stderr, /code object from '[^']*\/__pycache__\/warmboxmod\.[^']*\.pyc'/);
  });
});
