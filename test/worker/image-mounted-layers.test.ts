import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mountedLayerDirs } from '../../worker/mounted-layers.js';
import { SandboxFixture } from '../helpers/sandbox-fixture.js';
import { withTempDir } from '../helpers/tmp.js';

const STORE = '/var/lib/warmbox/store';
const layer = (n: number): string => `${STORE}/layers/sha256/${String(n).repeat(64)}`;

describe('layer directories that sandboxes use', () => {
  it("reads every process's open files: a store layer dir, or a path inside one, counts as its layer dir", async () => {
    await withTempDir(async (proc) => {
      const processes: Array<[string, string[]]> = [
        ['1', ['/dev/null', 'socket:[123]']],
        ['100', [layer(3), layer(1)]],
        ['101', [layer(3), `${layer(4)}/bin/sh`]],
        ['102', ['/elsewhere/layers/sha256/x', `${STORE}/layers/`, `${STORE}/blobs/sha256/${'5'.repeat(64)}`]],
      ];
      for (const [pid, targets] of processes) {
        await mkdir(join(proc, pid, 'fd'), { recursive: true });
        for (const [fd, target] of targets.entries()) await symlink(target, join(proc, pid, 'fd', String(fd)));
      }
      await mkdir(join(proc, '103')); // exited meanwhile: no fd dir
      await mkdir(join(proc, 'self'));
      const found = await mountedLayerDirs(STORE, proc);
      assert.deepEqual([...found].sort(), [layer(1), layer(3), layer(4)]);
    });
  });

  describe('with real sandboxes', () => {
    let fx: SandboxFixture;
    before(async () => {
      fx = await SandboxFixture.open('mounted-layers');
    });
    after(async () => {
      await fx?.teardown();
    });

    it("finds the layers of a parked sandbox while it lives, and not once it is gone", async () => {
      const layers = fx.busybox.layerDirs;
      const sandbox = await fx.createSandbox();
      assert.deepEqual([...(await mountedLayerDirs(fx.store.root))].sort(), [...layers].sort());
      await sandbox.destroy();
      assert.deepEqual([...(await mountedLayerDirs(fx.store.root))], []);
    });
  });
});
