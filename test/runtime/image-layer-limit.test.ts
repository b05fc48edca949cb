/**
 * Images of many layers: up to MAX_IMAGE_LAYERS they import and run, whatever the length of the
 * data directory's path (the overlay's options once held every layer's absolute path, and an image
 * of ~30 layers under a long WARMBOX_DATA imported fine but never ran); above it they are refused
 * when imported, before any layer is unpacked.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importImageArchive } from '../../images/image-import.js';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { DEFAULT_LIMITS, MAX_IMAGE_LAYERS } from '../../contract/limits.js';
import { launcherPath } from '../../contract/paths.js';
import { SandboxRuntime } from '../../runtime/sandbox-runtime.js';
import { manyLayerArchive } from '../helpers/test-images.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (sandboxes, and layers unpacked with their owners)' : false;

describe(`images of up to ${MAX_IMAGE_LAYERS} layers`, { skip }, () => {
  let tmp: string | undefined;
  let store: SnapshotStore;
  let runtime: SandboxRuntime;

  before(async () => {
    tmp = await makeTempDir('layer-limit');
    // A data directory as long as an operator might choose (and more): 128 layer paths under it
    // are ~90 KB, far past the one page that mount(2) takes.
    const longDataDir = join(tmp, ...['warmbox-data-dir-with-a-long-name', 'x'.repeat(200), 'y'.repeat(200), 'z'.repeat(150)]);
    store = new SnapshotStore(join(longDataDir, 'store'));
    await store.init();
    // The socket of the runtime lives under runDir: unix socket paths are short, so not there.
    runtime = await SandboxRuntime.open({ runDir: join(tmp, 'run'), launcherPath: launcherPath(), uid: 65534, gid: 65534 });
  });
  after(async () => {
    await runtime?.close();
    await removeTempDir(tmp);
  });

  async function archiveFile(count: number, reference: string): Promise<string> {
    const path = join(tmp ?? '', `layers-${count}.tar`);
    await mkdir(tmp ?? '', { recursive: true });
    await writeFile(path, await manyLayerArchive(count, reference));
    return path;
  }

  it(`an image of ${MAX_IMAGE_LAYERS} layers under a long data path runs: a job reads its bottom and its top layer`, async () => {
    const [image] = await importImageArchive(store, await archiveFile(MAX_IMAGE_LAYERS, 'localhost/many-layers:max'));
    assert.equal(image?.layerDirs.length, MAX_IMAGE_LAYERS);
    assert.ok(image.layerDirs[0]!.length > 600, 'the layers lie under a long path');
    const box = await runtime.create(image, { diskBytes: DEFAULT_LIMITS.diskBytes });
    const r = await box.run({
      ...DEFAULT_LIMITS,
      argv: ['sh', '-c', `cat /layers/bottom /layers/top /layers/which /layers/0 /layers/${MAX_IMAGE_LAYERS - 1}`],
      env: ['PATH=/bin'],
      files: [],
      stdin: Buffer.alloc(0),
    });
    await box.closed;
    assert.equal(r.verdict, 'ok', `${r.stderr.toString()} ${JSON.stringify(r.launcher)}`);
    assert.equal(r.stdout.toString(), `bottom layer\ntop layer\n${MAX_IMAGE_LAYERS - 1}\n0\n${MAX_IMAGE_LAYERS - 1}\n`, 'the top layer wins');
  });

  it(`an image of ${MAX_IMAGE_LAYERS + 1} layers is refused at import (too_many_layers, naming the count); nothing is unpacked or tagged`, async () => {
    const fresh = new SnapshotStore(join(tmp ?? '', 'fresh-store'));
    await fresh.init();
    await assert.rejects(importImageArchive(fresh, await archiveFile(MAX_IMAGE_LAYERS + 1, 'localhost/many-layers:over')), (err: unknown) => {
      assert.ok(err instanceof ImageStoreError, String(err));
      assert.equal(err.code, 'too_many_layers');
      assert.match(err.message, new RegExp(`has ${MAX_IMAGE_LAYERS + 1} layers; warmbox runs images of at most ${MAX_IMAGE_LAYERS} layers`));
      return true;
    });
    assert.deepEqual(await fresh.list(), []);
    assert.deepEqual(await readdir(join(fresh.root, 'layers', 'sha256')), [], 'no layer was unpacked');
  });
});
