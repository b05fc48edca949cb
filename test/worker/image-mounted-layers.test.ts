import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mountedLayerDirs, overlayLowerDirs } from '../../worker/mounted-layers.js';
import { withTempDir } from '../helpers/tmp.js';

const STORE = '/var/lib/warmbox/store';
const layer = (n: number): string => `${STORE}/layers/sha256/${String(n).repeat(64)}`;

function overlayLine(lower: string, extra = ''): string {
  return `812 790 0:123 / / rw,nosuid,nodev,relatime - overlay warmbox-root rw,lowerdir=${lower},upperdir=/run/u,workdir=/run/w${extra}`;
}

describe('layer directories that overlay mounts use', () => {
  it('reads every lower dir of every overlay in a mountinfo, top-most first as the kernel shows them', () => {
    const info = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      overlayLine(`${layer(2)}:${layer(1)}`),
      '900 812 0:5 / /proc rw - proc proc rw',
    ].join('\n');
    assert.deepEqual(overlayLowerDirs(info), [layer(2), layer(1)]);
  });

  it("undoes the kernel's escapes (\\040 for a space, a backslash before ':' and ',')", () => {
    const info = overlayLine('/data/with\\040space/a\\:b:/x\\,y');
    assert.deepEqual(overlayLowerDirs(info), ['/data/with space/a:b', '/x,y']);
  });

  it('finds the store layers mounted in any mount namespace, reading each namespace once', async () => {
    await withTempDir(async (proc) => {
      const processes: Array<[string, string, string]> = [
        ['1', 'mnt:[1]', '22 1 8:1 / / rw - ext4 /dev/sda1 rw'],
        ['100', 'mnt:[2]', overlayLine(`${layer(3)}:${layer(1)}`)],
        ['101', 'mnt:[2]', overlayLine(layer(9))], // same namespace as 100: not read again
        ['102', 'mnt:[3]', overlayLine(`/elsewhere/layers/x:${layer(4)}`)],
      ];
      for (const [pid, ns, mountinfo] of processes) {
        await mkdir(join(proc, pid, 'ns'), { recursive: true });
        await symlink(ns, join(proc, pid, 'ns', 'mnt'));
        await writeFile(join(proc, pid, 'mountinfo'), mountinfo);
      }
      await mkdir(join(proc, 'self'));
      const found = await mountedLayerDirs(STORE, proc);
      assert.deepEqual([...found].sort(), [layer(1), layer(3), layer(4)]);
    });
  });
});
