/**
 * Removing images and collecting what no ref names: shared layers stay while an image uses them,
 * layers under sandboxes stay whatever the refs say, and nothing a pull in progress has stored is
 * taken before its ref is written. diskUsage accounts for what each image costs and what removing it
 * would free.
 */
import assert from 'node:assert/strict';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SnapshotStore } from '../../images/image-store.js';
import { sha256Digest } from '../../images/store/digest.js';
import { encodeTar } from '../../images/store/layer-tar.js';
import { MEDIA_TYPE } from '../../images/store/oci-image.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;
const T = new Date('2023-03-03T03:03:03Z');

function layer(name: string, bytes = 1000): Buffer {
  return gzipSync(encodeTar([{ path: name, type: 'File', mode: 0o644, mtime: T, data: Buffer.alloc(bytes, name) }]));
}

/** Stores and tags an image of the given layers, as a pull would; returns its manifest digest. */
async function storeImage(store: SnapshotStore, reference: string, layerBlobs: Buffer[]): Promise<string> {
  return store.withGarbageCollectionPaused(async () => {
    const layers = [];
    const diffIds = [];
    for (const blob of layerBlobs) {
      const put = await store.putBlob(blob);
      diffIds.push((await store.addLayer(put.digest)).diffId);
      layers.push({ mediaType: MEDIA_TYPE.ociLayerGzip, digest: put.digest, size: put.size });
    }
    const config = await store.putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: [reference] }, rootfs: { type: 'layers', diff_ids: diffIds } })));
    const manifest = await store.putBlob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociManifest,
      config: { mediaType: MEDIA_TYPE.ociConfig, digest: config.digest, size: config.size },
      layers,
    })));
    await store.tagImage(reference, manifest.digest);
    return manifest.digest;
  });
}

async function counts(store: SnapshotStore): Promise<{ blobs: number; layers: number; diffIds: number }> {
  const n = async (d: string): Promise<number> => (await readdir(join(store.root, d, 'sha256'))).length;
  return { blobs: await n('blobs'), layers: await n('layers'), diffIds: await n('diffids') };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

describe('image removal and garbage collection', { skip: needsRoot }, () => {
  let tmp: string | undefined;
  let n = 0;
  const shared = layer('shared', 50_000);
  const onlyA = layer('only-a', 20_000);
  const onlyB = layer('only-b', 30_000);

  /** A store with a (shared + only-a) and b (shared + only-b). */
  async function twoImages(): Promise<SnapshotStore> {
    const store = new SnapshotStore(join(tmp ?? '', `store-${n++}`));
    await store.init();
    await storeImage(store, 'a:1', [shared, onlyA]);
    await storeImage(store, 'b:1', [shared, onlyB]);
    return store;
  }

  before(async () => {
    tmp = await makeTempDir('gc');
  });
  after(() => removeTempDir(tmp));

  describe('remove', () => {
    it('removes the ref, once, and keeps the content for collectGarbage', async () => {
      const store = await twoImages();
      const before = await counts(store);
      assert.equal(await store.remove('a:1'), true);
      assert.equal(await store.remove('a:1'), false);
      assert.equal(await store.resolve('a:1'), undefined);
      assert.deepEqual(await counts(store), before);
      assert.ok(await store.resolve('b:1'));
    });
  });

  describe('collectGarbage', () => {
    it('takes only what no ref names: a shared layer stays', async () => {
      const store = await twoImages();
      assert.deepEqual(await counts(store), { blobs: 7, layers: 3, diffIds: 3 });
      const usageBefore = await store.diskUsage();
      const a = usageBefore.images.find((i) => i.reference === 'docker.io/library/a:1');

      await store.remove('a:1');
      const result = await store.collectGarbage();

      assert.equal(result.removedBlobs, 3, "a's manifest, config and own layer blob");
      assert.equal(result.removedLayers, 1);
      assert.equal(result.freedBytes, a?.uniqueBytes, 'frees what diskUsage said was unique to it');
      assert.deepEqual(await counts(store), { blobs: 4, layers: 2, diffIds: 2 });
      const b = await store.resolve('b:1');
      for (const dir of b?.layerDirs ?? []) assert.ok(await exists(dir), dir);
    });

    it('removes nothing when every image is referenced', async () => {
      const store = await twoImages();
      assert.deepEqual(await store.collectGarbage(), { removedBlobs: 0, removedLayers: 0, freedBytes: 0 });
    });

    it('keeps the layers of sandboxes still running an image that was removed', async () => {
      const store = await twoImages();
      const a = await store.resolve('a:1');
      await store.remove('a:1');
      const result = await store.collectGarbage({ keepLayerDirs: new Set(a?.layerDirs) });
      assert.equal(result.removedLayers, 0);
      assert.equal(result.removedBlobs, 3);
      for (const dir of a?.layerDirs ?? []) assert.ok(await exists(dir));
      // Once the sandboxes are gone, the next collection takes the layer.
      assert.equal((await store.collectGarbage()).removedLayers, 1);
    });

    it('keeps what entered the store less than minAgeMs ago', async () => {
      const store = await twoImages();
      await store.remove('a:1');
      assert.deepEqual(await store.collectGarbage({ minAgeMs: 60_000 }), { removedBlobs: 0, removedLayers: 0, freedBytes: 0 });
    });

    it('waits for an add in progress, whose blobs are not yet referenced', async () => {
      const store = await twoImages();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let staged = '';
      const adding = store.withGarbageCollectionPaused(async () => {
        staged = (await store.putBlob(layer('in-flight'))).digest;
        await gate;
        return staged;
      });
      await new Promise((r) => setTimeout(r, 20));
      let collected = false;
      const collecting = store.collectGarbage().then((r) => { collected = true; return r; });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(collected, false, 'the collection waits');
      release();
      await adding;
      await collecting;
      assert.equal(await store.hasBlob(staged), false, 'unreferenced once the add ended, so collected');
    });

    it('keeps the index blob a digest reference pins', async () => {
      const store = await twoImages();
      const b = await store.resolve('b:1');
      const indexBody = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociIndex,
        manifests: [{ mediaType: MEDIA_TYPE.ociManifest, digest: b?.digest, size: 1, platform: { os: 'linux', architecture: 'amd64' } }],
      }));
      const index = await store.putBlob(indexBody);
      await store.tagImage(`b@${index.digest}`, b?.digest ?? '', { indexDigest: index.digest });
      assert.equal((await store.resolve(`b@${index.digest}`))?.digest, b?.digest);
      await store.collectGarbage();
      assert.equal(await store.hasBlob(index.digest), true);
      assert.equal(sha256Digest(await store.readBlob(index.digest)), index.digest);
    });

    it('lets an image collected and stored again resolve to its new layers', async () => {
      const store = await twoImages();
      await store.resolve('a:1'); // cached
      await store.remove('a:1');
      await store.collectGarbage();
      await storeImage(store, 'a:1', [shared, onlyA]);
      const a = await store.resolve('a:1');
      for (const dir of a?.layerDirs ?? []) assert.ok(await exists(dir));
    });
  });

  describe('diskUsage', () => {
    it('counts blobs and unpacked layers, shared and unique', async () => {
      const store = await twoImages();
      const usage = await store.diskUsage();
      assert.deepEqual(usage.images.map((i) => i.reference), ['docker.io/library/a:1', 'docker.io/library/b:1']);
      const [a, b] = usage.images;
      assert.ok(a && b);
      assert.ok(a.uniqueBytes > 0 && a.uniqueBytes < a.diskBytes, 'a shares a layer with b');
      assert.ok(b.uniqueBytes > a.uniqueBytes, "b's own layer is the bigger one");
      const sharedBytes = a.diskBytes - a.uniqueBytes;
      assert.equal(b.diskBytes - b.uniqueBytes, sharedBytes);
      assert.equal(usage.total, a.uniqueBytes + b.uniqueBytes + sharedBytes);
    });

    it('gives two tags of one image the same numbers', async () => {
      const store = await twoImages();
      const a = await store.resolve('a:1');
      await store.tagImage('a:also', a?.digest ?? '');
      const usage = await store.diskUsage();
      const [one, also] = usage.images.filter((i) => i.digest === a?.digest);
      assert.deepEqual({ ...one, reference: '' }, { ...also, reference: '' });
    });
  });
});
