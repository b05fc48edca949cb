/**
 * The worker's teardown of a sandbox cgroup its supervisor left: every process in it dies (also
 * ones forked while it runs), then the directory goes, once the kernel no longer calls it busy.
 * Run on each cgroup version this host mounts: v1 (a hierarchy of its own) and v2 (cgroup2).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cgroupDirsOf, killAndRemoveCgroup, killAndRemoveCgroups } from '../../runtime/cgroup-teardown.js';
import { cgroupProcs, eventually, isAlive, processRef, type ProcessRef } from '../helpers/sandbox-processes.js';

/** Mount points of the cgroup hierarchies this host has: `cgroup2`, and v1's `pids` one. */
function hierarchies(): { v1?: string; v2?: string } {
  const found: { v1?: string; v2?: string } = {};
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (type === 'cgroup2') found.v2 ??= mountPoint;
    if (type === 'cgroup' && options?.split(',').includes('pids')) found.v1 ??= mountPoint;
  }
  return found;
}

/**
 * A cgroup of the test's own holding a shell that forks a `sleep` every 10 ms (so the teardown
 * must read the list again after killing it) and 4 of them already.
 */
async function busyCgroup(root: string): Promise<{ dir: string; processes: ProcessRef[] }> {
  const dir = join(root, `warmbox-teardown-test-${process.pid}-${Date.now()}`);
  mkdirSync(dir);
  const forker = spawn('sh', ['-c', 'read go; while :; do sleep 1000 & sleep 0.01; done'], { stdio: ['pipe', 'ignore', 'ignore'] });
  forker.on('error', () => {});
  writeFileSync(join(dir, 'cgroup.procs'), String(forker.pid));
  forker.stdin!.end('go\n');
  await eventually(() => cgroupProcs(dir).length >= 9, 'the shell has forked'); // it, 4 sleeps, 4 `sleep 0.01`s at most
  const processes = cgroupProcs(dir).map(processRef).filter((p): p is ProcessRef => p !== undefined);
  return { dir, processes };
}

function cleanUp(dir: string, processes: ProcessRef[]): void {
  for (const pid of [...processes.filter(isAlive).map((p) => p.pid), ...cgroupProcs(dir)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // gone, as it should be
  }
}

describe('tearing down a cgroup a supervisor left', () => {
  const { v1, v2 } = hierarchies();

  for (const [version, root] of [['v1', v1], ['v2', v2]] as const) {
    it(`cgroup ${version}: kills every process in it, forks in flight included, then removes it`, { skip: root ? false : `this host mounts no cgroup ${version} hierarchy` }, async () => {
      const { dir, processes } = await busyCgroup(root!);
      try {
        assert.equal(await killAndRemoveCgroup(dir), true);
        assert.equal(existsSync(dir), false, 'the cgroup is removed');
        assert.deepEqual(processes.filter(isAlive).map((p) => p.pid), [], 'every process that was in it is dead');
      } finally {
        cleanUp(dir, processes);
      }
    });
  }

  it('a directory that is gone already is done; the dirs of each placement are its cgroups', async () => {
    assert.equal(await killAndRemoveCgroup('/sys/fs/cgroup/no-such-warmbox-cgroup'), true);
    assert.deepEqual(await killAndRemoveCgroups(['/sys/fs/cgroup/no-such-warmbox-cgroup']), []);
    assert.deepEqual(cgroupDirsOf({ version: 'v1', memory: '/m/w1-1', pids: '/p/w1-1', cpuacct: '/c/w1-1', cpu: '/u/w1-1' }), ['/m/w1-1', '/p/w1-1', '/c/w1-1', '/u/w1-1']);
    assert.deepEqual(cgroupDirsOf({ version: 'v2', unified: '/u/w1-1' }), ['/u/w1-1']);
    assert.deepEqual(cgroupDirsOf({ version: 'none' }), []);
  });

  it('gives up after its bound, naming a cgroup it cannot remove, and leaves it', { skip: v1 ? false : 'this host mounts no cgroup v1 hierarchy' }, async () => {
    // No process resists SIGKILL for long; what outlasts the bound is a cgroup that cannot be
    // removed at all, here one with a child cgroup (rmdir answers EBUSY while the child exists).
    const dir = join(v1!, `warmbox-teardown-test-${process.pid}-nested`);
    const child = join(dir, 'child');
    mkdirSync(child, { recursive: true });
    try {
      const left = await killAndRemoveCgroups([dir], 200);
      assert.deepEqual(left, [{ dir, why: 'processes still in it after 200 ms' }]);
      assert.equal(existsSync(dir), true);
    } finally {
      rmdirSync(child);
      rmdirSync(dir);
    }
  });
});
