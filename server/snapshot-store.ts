/** The snapshot store under the data directory, with the built-in images in it. */
import { join } from 'node:path';
import { ensureBuiltinImages } from '../images/builtin-images.js';
import { SnapshotStore } from '../images/image-store.js';

/**
 * Opens `<dataDir>/store` and makes sure the built-in images (busybox, hello-world) are there:
 * quick, and writes nothing, when they are.
 */
export async function openSnapshotStore(dataDir: string): Promise<SnapshotStore> {
  const store = new SnapshotStore(join(dataDir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  return store;
}
