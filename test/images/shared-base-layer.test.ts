/**
 * Language images share one base layer: the base is built once however many builds ask for it at
 * once, and each image is that very layer plus one of its own, made by running commands on the base
 * (store/overlay-layer.ts). Shown with a tiny base (the host's static busybox) and tiny "languages",
 * so that it needs neither the network nor minutes; `WARMBOX_TEST_RECIPES=1` builds the real python,
 * gcc and node images on a debootstrapped base (test/images/image-recipes.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SnapshotStore, type StoredImage } from '../../images/image-store.js';
import { ensureImage } from '../../images/store/base-image.js';
import { buildStreamedLayerImage } from '../../images/store/image-builder.js';
import { OverlayLayer } from '../../images/store/overlay-layer.js';
import { withMergedLayers } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (mounts, chroot, ownership of unpacked files)' : !existsSync('/bin/busybox') ? 'needs /bin/busybox (busybox-static)' : false;
const BASE = 'warmbox.local/tiny:base';
const LANGUAGES = ['python', 'gcc', 'node'];
const log = (): void => {};

/** A base like Debian's in the ways that matter here: a shell, the directories a build binds onto, files a layer deletes. */
async function makeTinyBase(rootfs: string): Promise<void> {
  for (const dir of ['bin', 'proc', 'dev', 'mnt', 'tmp', 'etc', 'usr/share/doc/old', 'opt/replaced']) await mkdir(join(rootfs, dir), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'rm', 'mkdir', 'echo', 'ls', 'touch']) await symlink('busybox', join(rootfs, 'bin', applet));
  await writeFile(join(rootfs, 'etc/removed-by-layer'), 'in the base\n');
  await writeFile(join(rootfs, 'opt/replaced/old'), 'in the base\n');
  await writeFile(join(rootfs, 'usr/share/doc/old/README'), 'in the base\n');
}

/** What a language's build does on the base: adds its files, deletes one of the base's, replaces a whole directory. */
function languageScript(name: string): string {
  return `set -e; mkdir -p /usr/lib/${name}; echo ${name} > /usr/lib/${name}/marker; rm /etc/removed-by-layer; ` +
    'rm -r /opt/replaced; mkdir /opt/replaced; echo new > /opt/replaced/new';
}

describe('language images on one shared base layer', { skip }, () => {
  let tmp: string | undefined;
  let store: SnapshotStore;
  let baseBuilds = 0;
  let images: StoredImage[];
  let base: StoredImage;

  before(async () => {
    tmp = await makeTempDir('shared-base');
    store = new SnapshotStore(join(tmp, 'store'));
    await store.init();
    const buildBase = async (): Promise<void> => {
      baseBuilds++;
      const rootfs = join(tmp ?? '', `base-tree-${baseBuilds}`);
      await makeTinyBase(rootfs);
      await buildStreamedLayerImage(store, { reference: BASE, rootfs, created: new Date(), config: { Cmd: ['sh'] }, createdBy: 'tiny base' });
    };
    // The three builds start together, as three image operations of a worker can.
    images = await Promise.all(LANGUAGES.map(async (name) => {
      const { image: onBase } = await ensureImage(store, BASE, buildBase);
      const layer = await OverlayLayer.create(store, onBase, `test-${name}`);
      try {
        await layer.run(['/bin/sh', '-c', languageScript(name)], { env: { PATH: '/bin' }, log });
        await layer.commit({ reference: `lang/${name}:latest`, created: new Date(), config: { Cmd: [name], WorkingDir: '/' }, createdBy: `tiny ${name}` });
      } finally {
        await layer.discard();
      }
      return (await store.resolve(`lang/${name}:latest`))!;
    }));
    base = (await store.resolve(BASE))!;
  });
  after(() => removeTempDir(tmp));

  it('builds the base once for three concurrent builds, and finds it stored afterwards', async () => {
    assert.equal(baseBuilds, 1);
    const again = await ensureImage(store, BASE, async () => assert.fail('the stored base is built again'));
    assert.equal(again.built, false);
    assert.equal(again.image.digest, base.digest);
  });

  it('gives each image the base layer itself (same blob digest, same diff_id, one directory) and a layer of its own', async () => {
    const manifests = await Promise.all([base, ...images].map(async (image) => JSON.parse((await store.readBlob(image.digest)).toString())));
    const configs = await Promise.all(manifests.map(async (m) => JSON.parse((await store.readBlob(m.config.digest)).toString())));
    const [baseManifest, ...langManifests] = manifests;
    const [baseConfig, ...langConfigs] = configs;
    for (const [i, image] of images.entries()) {
      assert.equal(langManifests[i].layers.length, 2, image.reference);
      assert.deepEqual(langManifests[i].layers[0], baseManifest.layers[0], `${image.reference} stacks on the base's layer blob`);
      assert.equal(langConfigs[i].rootfs.diff_ids[0], baseConfig.rootfs.diff_ids[0]);
      assert.deepEqual(image.layerDirs[0], base.layerDirs[0], 'the same unpacked directory, not a copy');
      assert.equal(langConfigs[i].history.length, 2);
    }
    assert.equal(new Set(langManifests.map((m) => m.layers[1].digest)).size, 3, 'each language has its own top layer');
    // Four unpacked layers in the store: the base, once, and the three languages.
    assert.equal((await readdir(join(store.root, 'layers', 'sha256'))).length, 4);
  });

  it('each image sees its own files, not the base files its build deleted, and a replaced directory holds only its new content', async () => {
    for (const [i, image] of images.entries()) {
      const name = LANGUAGES[i]!;
      await withMergedLayers(image.layerDirs, async (root) => {
        assert.equal(readFileSync(join(root, `usr/lib/${name}/marker`), 'utf8'), `${name}\n`);
        for (const other of LANGUAGES.filter((l) => l !== name)) assert.ok(!existsSync(join(root, `usr/lib/${other}`)), `${name} has no ${other}`);
        assert.ok(!existsSync(join(root, 'etc/removed-by-layer')), 'a deleted file is whited out');
        assert.deepEqual(await readdir(join(root, 'opt/replaced')), ['new'], 'a directory made anew is opaque');
        assert.equal(readFileSync(join(root, 'usr/share/doc/old/README'), 'utf8'), 'in the base\n');
      });
    }
    await withMergedLayers(base.layerDirs, async (root) => {
      assert.ok(existsSync(join(root, 'etc/removed-by-layer')), 'the base itself is unchanged');
      assert.deepEqual(await readdir(join(root, 'opt/replaced')), ['old']);
    });
  });

  it('runs a build command with /proc, /dev and read-only binds, none of which becomes part of the layer or stays mounted', async () => {
    const host = join(tmp ?? '', 'bound');
    await mkdir(host);
    await writeFile(join(host, 'config'), 'from the host\n');
    const layer = await OverlayLayer.create(store, base, 'test-binds');
    const script = 'set -e; cat /mnt/config > /copied; test -r /proc/self/status; echo x > /dev/null; ' +
      'if touch /mnt/written 2>/dev/null; then echo "the bind is writable"; exit 1; fi';
    try {
      await layer.run(['/bin/sh', '-c', script], { env: { PATH: '/bin' }, binds: [{ source: host, target: '/mnt' }, { source: host, target: '/no/such/dir', optional: true }], log });
      assert.equal(readFileSync(join(layer.upperDir, 'copied'), 'utf8'), 'from the host\n');
      assert.deepEqual((await readdir(layer.upperDir)).sort(), ['copied'], 'no /mnt, /proc or /dev content in the layer');
      assert.deepEqual(await readdir(host), ['config']);
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(store.root), 'nothing mounted in the host namespace');
      await assert.rejects(layer.run(['/bin/true'], { env: {}, binds: [{ source: host, target: '/no/such/dir' }], log }), /the image has no \/no\/such\/dir/);
    } finally {
      await layer.discard();
    }
  });
});
