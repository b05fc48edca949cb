/**
 * Building images from a directory tree: the streamed tar is byte for byte the in-memory one, and a
 * streamed, gzip-compressed layer image unpacks to the tree it was made from.
 */
import assert from 'node:assert/strict';
import { chmod, link, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { buildStreamedLayerImage } from '../../images/store/image-builder.js';
import { encodeTar, tarEntriesOfDir, tarStreamOfDir } from '../../images/store/layer-tar.js';
import { treeListing } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;
const T = new Date('2024-04-04T04:04:04Z');

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
});
