/**
 * importImageArchive on archives made by the real tools: an OCI layout built by umoci (as a directory,
 * a tar and a gzipped tar), and a `docker save` archive written by skopeo's docker-archive transport.
 * Each import must give the tree umoci itself unpacks, share layers with what the store has, and
 * refuse archives that lie or try to escape.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ImageImportError, importImageArchive } from '../../images/image-import.js';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { encodeTar } from '../../images/store/layer-tar.js';
import { registryTestsUnavailable, skopeoCopy, treeListing, UmociLayout, withMergedLayers } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const skip = await registryTestsUnavailable();

async function isCode(promise: Promise<unknown>, type: typeof ImageImportError | typeof ImageStoreError, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof type, `not a ${type.name}: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('importImageArchive', { skip }, () => {
  let tmp: string | undefined;
  let layout: UmociLayout;
  let expected: string[];
  let storeCount = 0;

  async function freshStore(): Promise<SnapshotStore> {
    const store = new SnapshotStore(join(tmp ?? '', `store-${storeCount++}`));
    await store.init();
    return store;
  }

  async function assertClean(store: SnapshotStore): Promise<void> {
    assert.deepEqual(await store.list(), [], 'nothing was tagged');
    assert.deepEqual(await readdir(join(store.root, 'tmp')), [], 'staging was cleaned up');
  }

  /** A copy of the layout whose index.json is changed by fn. */
  async function layoutCopy(name: string, fn?: (index: any) => void): Promise<string> {
    const dir = join(tmp ?? '', name);
    await run('cp', ['-a', layout.dir, dir]);
    if (fn) {
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
      fn(index);
      await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    }
    return dir;
  }

  before(async () => {
    tmp = await makeTempDir('import');
    layout = await UmociLayout.create(join(tmp, 'oci'));
    await layout.newImage('base');
    await layout.change('base', async (rootfs) => {
      await mkdir(join(rootfs, 'app', 'lib'), { recursive: true });
      await writeFile(join(rootfs, 'app', 'main.py'), 'print(1)\n');
      await writeFile(join(rootfs, 'app', 'old.txt'), 'old\n');
      await writeFile(join(rootfs, 'app', 'lib', 'x.so'), Buffer.alloc(70_000, 7), { mode: 0o755 });
    });
    await layout.change('base', async (rootfs) => {
      await rm(join(rootfs, 'app', 'old.txt'));
      await writeFile(join(rootfs, 'app', 'new.txt'), 'new\n');
    });
    await layout.config('base', ['--config.cmd', 'python3', '--config.workingdir', '/app']);
    expected = await treeListing(await layout.unpack('base', join(tmp, 'bundle')));
  });

  after(() => removeTempDir(tmp));

  describe('an OCI image layout', () => {
    it('as a directory, named by the reference given', async () => {
      const store = await freshStore();
      const [image, ...more] = await importImageArchive(store, layout.dir, { reference: 'example.com/team/app:1' });
      assert.equal(more.length, 0);
      assert.equal(image?.reference, 'example.com/team/app:1');
      assert.equal(image?.digest, await layout.manifestDigest('base'), 'the layout\'s own manifest, digest and all');
      assert.deepEqual(image?.config.cmd, ['python3']);
      assert.deepEqual(await withMergedLayers(image?.layerDirs ?? [], treeListing), expected);
    });

    it('needs a reference when the layout names the image only by tag', async () => {
      const store = await freshStore();
      await isCode(importImageArchive(store, layout.dir), ImageImportError, 'reference_required');
      await assertClean(store);
    });

    it("uses containerd's full name annotation", async () => {
      const dir = await layoutCopy('named', (index) => {
        index.manifests[0].annotations['io.containerd.image.name'] = 'example.com/team/app:named';
      });
      const [image] = await importImageArchive(await freshStore(), dir);
      assert.equal(image?.reference, 'example.com/team/app:named');
    });

    it('as a tar, and as a gzipped tar', async () => {
      const tar = join(tmp ?? '', 'layout.tar');
      await run('tar', ['-C', layout.dir, '-cf', tar, '.']);
      await writeFile(`${tar}.gz`, gzipSync(await readFile(tar)));
      for (const file of [tar, `${tar}.gz`]) {
        const store = await freshStore();
        const [image] = await importImageArchive(store, file, { reference: 'app:tar' });
        assert.equal(image?.reference, 'docker.io/library/app:tar');
        assert.deepEqual(await withMergedLayers(image?.layerDirs ?? [], treeListing), expected, file);
        assert.deepEqual(await readdir(join(store.root, 'tmp')), [], 'the staged archive was removed');
      }
    });

    it('takes this platform from a multi-platform index', async () => {
      const dir = await layoutCopy('multi');
      const copy = new UmociLayout(dir);
      await copy.newImage('arm');
      await copy.change('arm', (rootfs) => writeFile(join(rootfs, 'arm'), 'arm\n'));
      await copy.config('arm', ['--architecture', 'arm64']);
      await copy.writeIndex('multi', [
        { tag: 'arm', platform: { os: 'linux', architecture: 'arm64' } },
        { tag: 'base', platform: { os: 'linux', architecture: 'amd64' } },
      ]);
      const index = await copy.index();
      index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'multi');
      await writeFile(join(dir, 'index.json'), JSON.stringify(index));
      const [image] = await importImageArchive(await freshStore(), dir, { reference: 'app:multi' });
      assert.equal(image?.digest, await layout.manifestDigest('base'));
      await isCode(importImageArchive(await freshStore(), dir, { reference: 'app:multi', platform: { os: 'linux', architecture: 'riscv64' } }), ImageImportError, 'platform_not_found');
    });
  });

  describe('a docker save archive', () => {
    let archive: string;
    before(async () => {
      archive = join(tmp ?? '', 'docker-save.tar');
      await skopeoCopy(`oci:${layout.dir}:base`, `docker-archive:${archive}:example.com/team/app:saved`);
    });

    it('is imported under its RepoTags, with the same tree', async () => {
      const store = await freshStore();
      const [image, ...more] = await importImageArchive(store, archive);
      assert.equal(more.length, 0);
      assert.equal(image?.reference, 'example.com/team/app:saved');
      assert.deepEqual(image?.config.workingDir, '/app');
      assert.deepEqual(await withMergedLayers(image?.layerDirs ?? [], treeListing), expected);
    });

    it('shares its layers with the same image imported from an OCI layout', async () => {
      const store = await freshStore();
      const [fromOci] = await importImageArchive(store, layout.dir, { reference: 'app:oci' });
      const [fromDocker] = await importImageArchive(store, archive);
      assert.deepEqual(fromDocker?.layerDirs, fromOci?.layerDirs);
      assert.equal((await readdir(join(store.root, 'layers', 'sha256'))).length, 2);
    });

    it('can be renamed by the reference given', async () => {
      const [image] = await importImageArchive(await freshStore(), archive, { reference: 'renamed:1' });
      assert.equal(image?.reference, 'docker.io/library/renamed:1');
    });
  });

  describe('refuses, storing no image,', () => {
    it('an archive entry that climbs out with ../', async () => {
      const store = await freshStore();
      const file = join(tmp ?? '', 'evil.tar');
      await writeFile(file, encodeTar([
        { path: 'manifest.json', type: 'File', mode: 0o644, data: Buffer.from('[]') },
        { path: '../../evil', type: 'File', mode: 0o644, data: Buffer.from('x') },
      ]));
      await isCode(importImageArchive(store, file), ImageImportError, 'unsafe_archive');
      await assertClean(store);
    });

    it('a symlink in the archive that points outside it', async () => {
      const store = await freshStore();
      const file = join(tmp ?? '', 'evil-link.tar');
      await writeFile(file, encodeTar([
        { path: 'manifest.json', type: 'File', mode: 0o644, data: Buffer.from('[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]') },
        { path: 'c.json', type: 'SymbolicLink', mode: 0o777, linkpath: '../../../etc/passwd' },
      ]));
      await isCode(importImageArchive(store, file), ImageImportError, 'unsafe_archive');
      await assertClean(store);
    });

    it('a layout blob that does not match its digest', async () => {
      const dir = await layoutCopy('corrupt');
      const manifest = JSON.parse((await layout.readBlob(await layout.manifestDigest('base'))).toString());
      const victim = join(dir, 'blobs', 'sha256', manifest.layers[1].digest.slice(7));
      const bytes = await readFile(victim);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
      await writeFile(victim, bytes);
      const store = await freshStore();
      await isCode(importImageArchive(store, dir, { reference: 'x:1' }), ImageStoreError, 'digest_mismatch');
      await assertClean(store);
    });

    it('a layout that lacks a blob its manifest names', async () => {
      const dir = await layoutCopy('missing');
      const manifest = JSON.parse((await layout.readBlob(await layout.manifestDigest('base'))).toString());
      await rm(join(dir, 'blobs', 'sha256', manifest.layers[0].digest.slice(7)));
      await isCode(importImageArchive(await freshStore(), dir, { reference: 'x:1' }), ImageImportError, 'missing_blob');
    });

    it('a file that is no image archive', async () => {
      const file = join(tmp ?? '', 'not-an-archive.tar');
      await writeFile(file, encodeTar([{ path: 'readme.txt', type: 'File', mode: 0o644, data: Buffer.from('hello') }]));
      await isCode(importImageArchive(await freshStore(), file), ImageImportError, 'invalid_archive');
    });
  });
});
