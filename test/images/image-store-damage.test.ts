/** A damaged image in the store (a blob deleted by hand) is reported, and hides no other image. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { ensureBuiltinImages } from '../../images/builtin-images.js';
import { SnapshotStore } from '../../images/image-store.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-damage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('lists the healthy images and names the damaged one', async () => {
  const store = new SnapshotStore(join(dir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  const hello = (await store.resolve('hello-world'))!;
  rmSync(join(dir, 'store', 'blobs', 'sha256', hello.digest.slice('sha256:'.length)));

  const fresh = new SnapshotStore(join(dir, 'store')); // no cache of the manifest
  const broken: string[] = [];
  const images = await fresh.list((reference) => broken.push(reference));
  assert.deepEqual(images.map((i) => i.reference), ['docker.io/library/busybox:latest']);
  assert.deepEqual(broken, ['docker.io/library/hello-world:latest']);
});
