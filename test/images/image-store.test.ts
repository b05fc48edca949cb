/**
 * The snapshot store on a real directory: blobs verified before they are admitted, layers unpacked
 * once and shared, refs that only name complete images.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidReferenceError } from '../../contract/image-reference.js';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { encodeTar, type TarEntry } from '../../images/store/layer-tar.js';
import { MEDIA_TYPE } from '../../images/store/oci-image.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function file(path: string, content: string, mode = 0o644): TarEntry {
  return { path, type: 'File', mode, data: Buffer.from(content) };
}

function dir(path: string, mode = 0o755): TarEntry {
  return { path, type: 'Directory', mode };
}

/** Stores an image made of the given layer blobs, as a registry pull would; returns its digests. */
async function storeImage(
  store: SnapshotStore,
  reference: string,
  layerBlobs: Buffer[],
  config: Record<string, unknown> = { Cmd: ['sh'] },
): Promise<{ manifest: string; diffIds: string[] }> {
  const layers = [];
  const diffIds = [];
  for (const blob of layerBlobs) {
    const { digest, size } = await store.putBlob(blob);
    diffIds.push((await store.addLayer(digest)).diffId);
    layers.push({ mediaType: MEDIA_TYPE.ociLayerGzip, digest, size });
  }
  const configJson = Buffer.from(JSON.stringify({
    created: '2024-01-02T03:04:05Z',
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const configBlob = await store.putBlob(configJson);
  const manifestJson = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: MEDIA_TYPE.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  }));
  const manifest = (await store.putBlob(manifestJson)).digest;
  await store.tagImage(reference, manifest);
  return { manifest, diffIds };
}

async function isCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageStoreError, `not an ImageStoreError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('SnapshotStore', () => {
  let tmp: string | undefined;
  let root: string;
  let store: SnapshotStore;

  before(async () => {
    tmp = await makeTempDir('store');
    root = join(tmp, 'store');
    store = new SnapshotStore(root);
    await store.init();
  });
  after(() => removeTempDir(tmp));

  describe('init', () => {
    it('creates the layout, private to root', async () => {
      for (const d of ['blobs/sha256', 'layers/sha256', 'diffids/sha256', 'refs', 'tmp']) {
        assert.ok((await stat(join(root, d))).isDirectory(), d);
      }
      assert.equal((await stat(root)).mode & 0o777, 0o700);
    });

    it("clears crashed writers' staging from tmp/ but keeps a live process's", async () => {
      const s = new SnapshotStore(join(root, '..', 'other-store'));
      await s.init();
      const tmp = join(root, '..', 'other-store', 'tmp');
      await mkdir(join(tmp, '2147483646-layer-dead'), { recursive: true });
      await writeFile(join(tmp, '2147483646-layer-dead', 'x'), 'x');
      await writeFile(join(tmp, 'no-pid-at-all'), 'x');
      await writeFile(join(tmp, `${process.pid}-blob-live`), 'x');
      await s.init();
      assert.deepEqual(await readdir(tmp), [`${process.pid}-blob-live`]);
    });
  });

  describe('putBlob', () => {
    it('stores a Buffer under its sha256', async () => {
      const data = Buffer.from('hello blob');
      const put = await store.putBlob(data);
      assert.deepEqual(put, { digest: sha256(data), size: data.length });
      assert.deepEqual(await readFile(join(root, 'blobs', 'sha256', sha256(data).slice(7))), data);
      assert.deepEqual(await store.readBlob(put.digest), data);
      assert.equal(await store.hasBlob(put.digest), true);
    });

    it('streams a Readable, verifying the expected digest', async () => {
      const chunks = [Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2)];
      const expected = sha256(Buffer.concat(chunks));
      const put = await store.putBlob(Readable.from(chunks), expected);
      assert.deepEqual(put, { digest: expected, size: 200_000 });
    });

    it('leaves a blob already present untouched', async () => {
      const data = Buffer.from('same content');
      const first = await store.putBlob(data);
      const before = await stat(join(root, 'blobs', 'sha256', first.digest.slice(7)));
      await store.putBlob(data, first.digest);
      const afterPut = await stat(join(root, 'blobs', 'sha256', first.digest.slice(7)));
      assert.equal(afterPut.ino, before.ino);
      assert.equal(afterPut.mtimeMs, before.mtimeMs);
    });

    it('refuses content that does not match the expected digest, keeping nothing', async () => {
      const blobsBefore = await readdir(join(root, 'blobs', 'sha256'));
      const data = Buffer.from('tampered');
      await isCode(store.putBlob(data, sha256('original')), 'digest_mismatch');
      await isCode(store.putBlob(Readable.from([data]), sha256('original')), 'digest_mismatch');
      assert.deepEqual(await readdir(join(root, 'blobs', 'sha256')), blobsBefore);
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      assert.equal(await store.hasBlob(sha256(data)), false);
    });

    it('refuses a malformed expected digest before reading anything', async () => {
      await isCode(store.putBlob(Buffer.from('x'), 'sha256:XYZ'), 'invalid_digest');
      await isCode(store.putBlob(Buffer.from('x'), `sha512:${'a'.repeat(128)}`), 'invalid_digest');
    });

    it('says blob_not_found for a blob it does not have', async () => {
      await isCode(store.readBlob(sha256('never stored')), 'blob_not_found');
    });
  });

  describe('addLayer, tagImage, resolve, list', { skip: needsRoot }, () => {
    const base = encodeTar([dir('etc'), file('etc/os-release', 'ID=test\n'), dir('bin'), file('bin/tool', '#!/bin/sh\n', 0o755)]);
    const baseGz = gzipSync(base);
    const extra = encodeTar([dir('app'), file('app/main.py', 'print(1)\n')]);

    it('unpacks a gzip layer once, with the diff_id of the uncompressed tar', async () => {
      const blob = await store.putBlob(baseGz);
      const layer = await store.addLayer(blob.digest);
      assert.equal(layer.diffId, sha256(base));
      assert.equal(layer.dir, join(root, 'layers', 'sha256', sha256(base).slice(7)));
      assert.equal(await readFile(join(layer.dir, 'etc', 'os-release'), 'utf8'), 'ID=test\n');
      assert.deepEqual(await readdir(join(root, 'tmp')), []);

      // A second addLayer must not read the blob again: spoil it and ask.
      const blobFile = join(root, 'blobs', 'sha256', blob.digest.slice(7));
      const good = await readFile(blobFile);
      await writeFile(blobFile, 'not a tar any more');
      try {
        assert.deepEqual(await store.addLayer(blob.digest), layer);
        assert.deepEqual(await store.addLayer(blob.digest, sha256(base)), layer);
      } finally {
        await writeFile(blobFile, good);
      }
    });

    it('unpacks concurrent requests for one layer once', async () => {
      const tar = encodeTar([file('concurrent', 'x')]);
      const blob = await store.putBlob(tar);
      const results = await Promise.all([1, 2, 3, 4].map(() => store.addLayer(blob.digest)));
      for (const r of results) assert.deepEqual(r, results[0]);
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
    });

    it('rejects a layer whose diff_id is not the one expected, and keeps no layer', async () => {
      const tar = encodeTar([file('unexpected', 'x')]);
      const blob = await store.putBlob(tar);
      await isCode(store.addLayer(blob.digest, sha256('something else')), 'digest_mismatch');
      await assert.rejects(stat(join(root, 'layers', 'sha256', sha256(tar).slice(7))), { code: 'ENOENT' });
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
    });

    it('refuses to unpack a blob it does not have', async () => {
      await isCode(store.addLayer(sha256('no such layer')), 'blob_not_found');
    });

    it('shares a layer between two images', async () => {
      const one = await storeImage(store, 'one', [baseGz], { Cmd: ['/bin/tool'], Env: ['A=1'], WorkingDir: '/app', User: '1000:1000', Entrypoint: null });
      const two = await storeImage(store, 'example.com/team/two:v2', [baseGz, extra]);
      assert.notEqual(one.manifest, two.manifest);

      const a = await store.resolve('one');
      const b = await store.resolve('example.com/team/two:v2');
      assert.ok(a && b);
      assert.equal(a.layerDirs.length, 1);
      assert.equal(b.layerDirs.length, 2);
      assert.equal(a.layerDirs[0], b.layerDirs[0]);
      assert.equal(b.layerDirs[1], join(root, 'layers', 'sha256', sha256(extra).slice(7)));
      assert.equal(await readFile(join(b.layerDirs[1] ?? '', 'app', 'main.py'), 'utf8'), 'print(1)\n');
    });

    it('resolves any spelling of a reference to the normalized one, with the runtime config', async () => {
      const image = await store.resolve('docker.io/library/one:latest');
      assert.ok(image);
      assert.equal(image.reference, 'docker.io/library/one:latest');
      assert.deepEqual(image.config, { entrypoint: [], cmd: ['/bin/tool'], env: ['A=1'], workingDir: '/app', user: '1000:1000' });
      assert.equal(image.createdAt, '2024-01-02T03:04:05Z');
      const manifest = JSON.parse((await store.readBlob(image.digest)).toString()) as { config: { size: number } };
      assert.equal(image.compressedBytes, manifest.config.size + baseGz.length, 'config plus layer blobs');
      assert.equal(image.unpackedBytes, base.length, 'its layer uncompressed');
      assert.deepEqual(await store.resolve('one'), image);
    });

    it('gives callers copies they may change', async () => {
      const first = await store.resolve('one');
      assert.ok(first);
      first.config.cmd.push('changed');
      first.layerDirs.pop();
      const again = await store.resolve('one');
      assert.deepEqual(again?.config.cmd, ['/bin/tool']);
      assert.equal(again?.layerDirs.length, 1);
    });

    it('answers undefined for a reference it does not have, and throws for an invalid one', async () => {
      assert.equal(await store.resolve('one:other-tag'), undefined);
      assert.equal(await store.resolve('nothere'), undefined);
      await assert.rejects(store.resolve('Not Valid'), InvalidReferenceError);
    });

    it('resolves a pinned reference tagged by digest', async () => {
      const { manifest } = await storeImage(store, 'pinned', [extra]);
      await store.tagImage(`ghcr.io/org/pinned@${manifest}`, manifest);
      const image = await store.resolve(`ghcr.io/org/pinned@${manifest}`);
      assert.equal(image?.digest, manifest);
      assert.equal(image?.reference, `ghcr.io/org/pinned@${manifest}`);
      assert.equal(await store.resolve(`ghcr.io/org/pinned@${sha256('other')}`), undefined);
      await isCode(store.tagImage(`ghcr.io/org/pinned@${sha256('other')}`, manifest), 'reference_mismatch');
    });

    it('moves a tag atomically to another manifest', async () => {
      const { manifest } = await storeImage(store, 'moving:1', [baseGz]);
      const moved = await storeImage(store, 'moving:1', [baseGz, extra]);
      assert.notEqual(moved.manifest, manifest);
      assert.equal((await store.resolve('moving:1'))?.digest, moved.manifest);
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
    });

    it('lists every ref, sorted', async () => {
      const refs = (await store.list()).map((i) => i.reference);
      assert.deepEqual(refs, [...refs].sort((x, y) => x.localeCompare(y)));
      for (const expected of ['docker.io/library/one:latest', 'example.com/team/two:v2', 'docker.io/library/pinned:latest']) {
        assert.ok(refs.includes(expected), `${expected} in ${refs.join(', ')}`);
      }
      assert.ok(refs.some((r) => r.startsWith('ghcr.io/org/pinned@sha256:')));
    });

    it('will not tag an image whose layer was never unpacked', async () => {
      const layer = await store.putBlob(encodeTar([file('never-unpacked', 'x')]));
      const config = await store.putBlob(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
      const manifest = await store.putBlob(Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociManifest,
        config: { mediaType: MEDIA_TYPE.ociConfig, ...config },
        layers: [{ mediaType: MEDIA_TYPE.ociLayer, ...layer }],
      })));
      await isCode(store.tagImage('incomplete', manifest.digest), 'incomplete_image');
      assert.equal(await store.resolve('incomplete'), undefined);
    });

    it('will not tag what is not an image manifest', async () => {
      await isCode(store.tagImage('x', sha256('missing manifest')), 'blob_not_found');
      const notJson = await store.putBlob(Buffer.from('{not json'));
      await isCode(store.tagImage('x', notJson.digest), 'invalid_manifest');
      const index = await store.putBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [] })));
      await isCode(store.tagImage('x', index.digest), 'invalid_manifest');
      const badConfig = await store.putBlob(Buffer.from('{"rootfs": {}}'));
      const manifest = await store.putBlob(Buffer.from(JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: MEDIA_TYPE.ociConfig, ...badConfig },
        layers: [],
      })));
      await isCode(store.tagImage('x', manifest.digest), 'invalid_config');
      assert.equal(await store.resolve('x'), undefined);
    });

    it('accepts an image with no layers and a Docker schema 2 manifest', async () => {
      const config = await store.putBlob(Buffer.from(JSON.stringify({ config: null, rootfs: { type: 'layers', diff_ids: [] } })));
      const manifest = await store.putBlob(Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.dockerManifest,
        config: { mediaType: MEDIA_TYPE.dockerConfig, ...config },
        layers: [],
      })));
      await store.tagImage('scratchy', manifest.digest);
      const image = await store.resolve('scratchy');
      assert.deepEqual(image?.config, { entrypoint: [], cmd: [], env: [], workingDir: '', user: '' });
      assert.deepEqual(image?.layerDirs, []);
      assert.equal(image?.createdAt, '');
    });

    it('finds the same images from a new store object on the same root', async () => {
      const reopened = new SnapshotStore(root);
      await reopened.init();
      assert.deepEqual(await reopened.resolve('one'), await store.resolve('one'));
    });
  });
});
