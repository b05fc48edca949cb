/** `warmbox images builtin`: creates the built-in images in the local snapshot store (used by set-up). */
import { join } from 'node:path';
import { ensureBuiltinImages } from '../../runtime/builtin-images.js';
import { SnapshotStore } from '../../runtime/image-store.js';
import { loadConfig } from '../../server/config.js';
import { UsageError } from '../units.js';

export const IMAGES_HELP = `Usage: warmbox images builtin

  builtin   Create the built-in images (hello-world, busybox) in the snapshot store under
            WARMBOX_DATA. Quick and changes nothing when they exist. \`npm run setup\` runs it.`;

export async function imagesCommand(args: string[]): Promise<number> {
  const [sub] = args;
  if (sub === '-h' || sub === '--help') {
    console.log(IMAGES_HELP);
    return 0;
  }
  if (sub !== 'builtin') throw new UsageError(`unknown images command ${JSON.stringify(sub ?? '')} (see warmbox images --help)`);
  const store = new SnapshotStore(join(loadConfig().dataDir, 'store'));
  await store.init();
  await ensureBuiltinImages(store);
  for (const image of await store.list()) console.log(`${image.reference}\t${image.digest}`);
  return 0;
}
