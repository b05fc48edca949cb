/**
 * A sandbox runtime of a benchmark's own, with no service around it: a temporary snapshot store
 * holding the built-in images, this build's launcher, jobs run as nobody (65534).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launcherPath } from '../../contract/paths.js';
import { ensureBuiltinImages } from '../../images/builtin-images.js';
import { SnapshotStore, type StoredImage } from '../../images/image-store.js';
import { SandboxRuntime } from '../../runtime/sandbox-runtime.js';

export interface BenchRuntime {
  /** The temporary directory everything lives in (removed by close). */
  dir: string;
  runtime: SandboxRuntime;
  /** The image the benchmark asked for, resolved in the store. */
  image: StoredImage;
  close(): Promise<void>;
}

/** Opens the runtime on a fresh store; `reference` names a built-in image. */
export async function openBenchRuntime(reference: string): Promise<BenchRuntime> {
  const dir = mkdtempSync(join(tmpdir(), 'warmbox-bench-'));
  try {
    const store = new SnapshotStore(join(dir, 'store'));
    await store.init();
    await ensureBuiltinImages(store);
    const image = await store.resolve(reference);
    if (!image) throw new Error(`${reference} is not a built-in image`);
    const runtime = await SandboxRuntime.open({ runDir: join(dir, 'run'), launcherPath: launcherPath(), uid: 65534, gid: 65534 });
    return {
      dir,
      runtime,
      image,
      close: async () => {
        await runtime.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
