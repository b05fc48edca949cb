/**
 * What one image may unpack to, checked while it unpacks: a gzip bomb, an entry-count bomb and a
 * gzip archive that inflates are each stopped at the bound and leave nothing half-written; the bound
 * is the whole image's, layers it shares with stored images included; and the sizes the store
 * records are the images' real unpacked sizes.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ImageImportError, importImageArchive } from '../../images/image-import.js';
import { ImageStoreError, SnapshotStore, type UnpackBounds } from '../../images/image-store.js';
import { encodeTar, type TarEntry } from '../../images/store/layer-tar.js';
import { dockerSaveArchive, entryBomb, gzipBomb, gzipLayer, sha256, type TestLayer } from '../helpers/hostile-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (unpacking layers keeps ownership)' : false;
const MiB = 1024 * 1024;
const BOUNDS: UnpackBounds = { maxUnpackedBytes: 4 * MiB, maxEntries: 1000 };

describe('unpack bounds', { skip }, () => {
  let tmp: string;
  let seq = 0;

  before(async () => {
    tmp = await makeTempDir('unpack-bounds');
  });
  after(() => removeTempDir(tmp));

  async function freshStore(bounds = BOUNDS): Promise<SnapshotStore> {
    const store = new SnapshotStore(join(tmp, `store-${seq++}`), { unpackBounds: bounds });
    await store.init();
    return store;
  }

  async function archiveFile(archive: Buffer): Promise<string> {
    const file = join(tmp, `archive-${seq++}.tar`);
    await writeFile(file, archive);
    return file;
  }

  async function importOf(store: SnapshotStore, name: string, layers: TestLayer[]) {
    return importImageArchive(store, await archiveFile(dockerSaveArchive(name, layers)));
  }

  /** Nothing tagged, no staging left, no layer unpacked but those of tagged images. */
  async function assertNothingHalfWritten(store: SnapshotStore, layersBefore: string[] = []): Promise<void> {
    assert.deepEqual((await store.list()).map((i) => i.reference).filter((r) => !r.includes('/ok')), [], 'nothing was tagged');
    assert.deepEqual(await readdir(join(store.root, 'tmp')), [], 'staging was removed');
    assert.deepEqual((await readdir(join(store.root, 'layers', 'sha256'))).sort(), [...layersBefore].sort(), 'no layer was left unpacked');
  }

  async function rejectsWith(promise: Promise<unknown>, type: typeof ImageStoreError | typeof ImageImportError, code: string, pattern?: RegExp): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof type, String(err));
      assert.equal(err.code, code, err.message);
      if (pattern) assert.match(err.message, pattern);
      return true;
    });
  }

  it('stops a gzip bomb at the byte that crosses the bound', async () => {
    const bomb = await gzipBomb(256 * MiB);
    assert.ok(bomb.blob.length < MiB, `the bomb is small: ${bomb.blob.length} bytes`);
    const store = await freshStore();
    await rejectsWith(importOf(store, 'bomb:1', [bomb]), ImageStoreError, 'unpacked_size_limit', /layer 1 of 1 \(layer0\/layer\.tar\): layer sha256:[0-9a-f]{64}: the image unpacks to more than 4194304 bytes/);
    await assertNothingHalfWritten(store);
  });

  it('stops a layer of more entries than the bound', async () => {
    const store = await freshStore();
    await rejectsWith(importOf(store, 'many:1', [entryBomb(5000)]), ImageStoreError, 'entry_count_limit', /more than 1000 entries/);
    await assertNothingHalfWritten(store);
  });

  it('stops a gzip archive that inflates past the bound before its layers are looked at', async () => {
    const zeros = encodeTar([{ path: 'zeros', type: 'File', mode: 0o644, data: Buffer.alloc(8 * MiB) }]);
    const archive = gzipSync(dockerSaveArchive('inflated:1', [{ blob: zeros, diffId: sha256(zeros) }]));
    const store = await freshStore();
    await rejectsWith(importImageArchive(store, await archiveFile(archive)), ImageStoreError, 'unpacked_size_limit', /the archive unpacks to more than/);
    await assertNothingHalfWritten(store);
  });

  it("bounds the whole image: layers under the bound alone, over it together, are refused", async () => {
    const half = (name: string): TestLayer => gzipLayer([{ path: name, type: 'File', mode: 0o644, data: Buffer.alloc(2.5 * MiB, name) }]);
    const [a, b] = [half('a'), half('b')];
    const store = await freshStore();
    await importOf(store, 'example.com/ok/a:1', [a]);
    const layersBefore = await readdir(join(store.root, 'layers', 'sha256'));
    await rejectsWith(importOf(store, 'ab:1', [a, b]), ImageStoreError, 'unpacked_size_limit', /layer 2 of 2/);
    await assertNothingHalfWritten(store, layersBefore);
  });

  it('counts a layer the store already has at its recorded size, entries too', async () => {
    const files = (prefix: string, n: number): TarEntry[] => Array.from({ length: n }, (_, i): TarEntry => ({ path: `${prefix}${i}`, type: 'File', mode: 0o644 }));
    const [shared, own] = [gzipLayer(files('s', 600)), gzipLayer(files('o', 600))];
    const store = await freshStore();
    await importOf(store, 'example.com/ok/shared:1', [shared]);
    await importOf(store, 'example.com/ok/own:1', [own]);
    const layersBefore = await readdir(join(store.root, 'layers', 'sha256'));
    await rejectsWith(importOf(store, 'both:1', [shared, own]), ImageStoreError, 'entry_count_limit');
    await assertNothingHalfWritten(store, layersBefore);
  });

  it("records each layer's uncompressed size and entries, and an image's unpacked size is their sum", async () => {
    const tars = [encodeTar([{ path: 'x', type: 'File', mode: 0o644, data: Buffer.alloc(70_000, 1) }]), encodeTar([{ path: 'y', type: 'Directory', mode: 0o755 }, { path: 'y/z', type: 'File', mode: 0o644, data: Buffer.from('z') }])];
    const layers = tars.map((tar) => ({ blob: gzipSync(tar), diffId: sha256(tar) }));
    const store = await freshStore();
    const [image] = await importOf(store, 'sized:1', layers);
    assert.ok(image);
    assert.equal(image.unpackedBytes, tars[0]!.length + tars[1]!.length);
    assert.ok(image.compressedBytes < image.unpackedBytes, 'the gzip blobs are smaller');
    assert.deepEqual(await store.layerStats(sha256(layers[1]!.blob), layers[1]!.diffId), { tarBytes: tars[1]!.length, entries: 2 });
  });

  it('estimates the size of layers an older version unpacked without recording it', async () => {
    const tar = encodeTar([{ path: 'x', type: 'File', mode: 0o644, data: Buffer.alloc(10_000, 1) }]);
    const layer = { blob: gzipSync(tar), diffId: sha256(tar) };
    const store = await freshStore();
    await importOf(store, 'old:1', [layer]);
    const index = join(store.root, 'diffids', 'sha256', sha256(layer.blob).slice(7));
    await writeFile(index, `${layer.diffId}\n`); // what an older version wrote
    const stats = await store.layerStats(sha256(layer.blob), layer.diffId);
    assert.deepEqual(stats, { tarBytes: tar.length, entries: 1 }, 'one header and the content in whole blocks, and the end of the archive');
    assert.equal((await readFile(index, 'utf8')).trim(), `${layer.diffId} ${tar.length} 1`, 'and recorded it');
  });

  it('refuses a gzip archive that is corrupt or cut short as bad input, leaving no staging', async () => {
    const archive = gzipSync(dockerSaveArchive('cut:1', [gzipLayer([{ path: 'a', type: 'File', mode: 0o644, data: Buffer.alloc(50_000, 3) }])]));
    const corrupt = Buffer.from(archive);
    for (let i = 30; i < 80; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0xa5;
    for (const bytes of [corrupt, archive.subarray(0, archive.length - 50)]) {
      const store = await freshStore();
      await rejectsWith(importImageArchive(store, await archiveFile(bytes)), ImageImportError, 'invalid_archive', /^the archive does not decompress/);
      await assertNothingHalfWritten(store);
    }
  });
});
