/** The snapshot store under the data directory, with the built-in images in it. */
import { join } from 'node:path';
import { ensureBuiltinImages } from '../images/builtin-images.js';
import { SnapshotStore } from '../images/image-store.js';
import type { ImageOpsConfig } from './image-config.js';

/**
 * Opens `<dataDir>/store`, bounded as the configuration says, and makes sure the built-in images
 * (busybox, hello-world) are there: quick, and writes nothing, when they are.
 */
export async function openSnapshotStore(dataDir: string, imageConfig: Pick<ImageOpsConfig, 'unpackBounds'>): Promise<SnapshotStore> {
  const store = new SnapshotStore(join(dataDir, 'store'), { unpackBounds: imageConfig.unpackBounds });
  await store.init();
  await ensureBuiltinImages(store);
  return store;
}
