/**
 * `node dist/server/setup-builtin-images.js`, run by the set-up (infra/setup.sh): the built-in
 * images in the snapshot store under WARMBOX_DATA, so that `warmbox run busybox` needs no pull
 * and a missing static busybox or hello program shows at set-up. A server makes them too when it
 * starts; the `warmbox` command never writes the store (it speaks to the API only).
 * Prints each built-in image's reference and digest; changes nothing when they exist.
 */
import { BUSYBOX_IMAGE, HELLO_WORLD_IMAGE } from '../images/builtin-images.js';
import { loadConfig } from './config.js';
import { openSnapshotStore } from './snapshot-store.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const store = await openSnapshotStore(config.dataDir, config.images);
  for (const reference of [BUSYBOX_IMAGE, HELLO_WORLD_IMAGE]) {
    const image = await store.resolve(reference);
    console.log(`${reference}\t${image?.digest ?? 'missing'}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`warmbox set-up: the built-in images: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
