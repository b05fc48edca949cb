/**
 * The launcher's cgroup drivers speak each version's file protocol. The host's own version is
 * exercised by every sandbox test; here both drivers run against directories laid out like
 * cgroupfs, so the v2 driver is covered on this v1 host too (and v1 on a v2 host).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CgroupSetupError, setUpCgroups } from '../../runtime/cgroups.js';
import { packageRoot } from '../../contract/paths.js';

let dir: string;
let harness: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-cgroup-'));
  const native = join(packageRoot(), 'runtime/native');
  harness = join(dir, 'harness');
  execFileSync('cc', ['-std=gnu11', '-D_GNU_SOURCE', `-I${native}`, '-o', harness, join(packageRoot(), 'test/runtime/native/cgroup-driver-harness.c'), join(native, 'cgroup-file.c'), join(native, 'cgroup-v1.c'), join(native, 'cgroup-v2.c')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A sandbox cgroup dir as the kernel would present it: the interface files exist, empty. */
function fakeCgroup(path: string, files: Record<string, string>): void {
  mkdirSync(path, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
}

describe('cgroup v2 driver', () => {
  it('writes memory.max, memory.swap.max, pids.max, cpu.max and cgroup.kill, and reads cpu.stat, memory.peak, memory.events', () => {
    const cg = join(dir, 'v2', 'w1-1');
    fakeCgroup(cg, {
      'memory.swap.max': 'max\n',
      'memory.max': 'max\n',
      'pids.max': 'max\n',
      'cpu.max': 'max 100000\n',
      'cgroup.kill': '',
      'cpu.stat': 'usage_usec 12345\nuser_usec 10000\nsystem_usec 2345\n',
      'memory.peak': '987654\n',
      'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n',
    });
    const out = execFileSync(harness, ['v2', cg], { encoding: 'utf8' });
    assert.equal(out.trim(), 'cpu_us=12345 memory_peak_bytes=987654 oom_kills=1');
    assert.equal(readFileSync(join(cg, 'memory.swap.max'), 'utf8'), '0', 'swap off');
    assert.equal(readFileSync(join(cg, 'memory.max'), 'utf8'), '2097152');
    assert.equal(readFileSync(join(cg, 'pids.max'), 'utf8'), '65');
    assert.equal(readFileSync(join(cg, 'cpu.max'), 'utf8'), '50000 100000', 'half a core: the run limit replaced the parked one');
    assert.equal(readFileSync(join(cg, 'cgroup.kill'), 'utf8'), '1', 'every process killed before rmdir');
  });

  it('fails clearly when a controller file is missing (memory not delegated)', () => {
    const cg = join(dir, 'v2', 'w1-2');
    fakeCgroup(cg, { 'pids.max': 'max\n' });
    const r = spawnSync(harness, ['v2', cg], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /memory\.swap\.max/);
  });
});

describe('cgroup v1 driver', () => {
  it('orders memory and memsw writes, sets the CFS quota, and reads cpuacct.usage, max_usage_in_bytes and oom_kill', () => {
    const base = join(dir, 'v1');
    fakeCgroup(join(base, 'memory'), {
      'memory.swappiness': '60\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.memsw.limit_in_bytes': '9223372036854771712\n',
      'memory.max_usage_in_bytes': '4096000\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    fakeCgroup(join(base, 'pids'), { 'pids.max': 'max\n' });
    fakeCgroup(join(base, 'cpuacct'), { 'cpuacct.usage': '5000000\n' });
    fakeCgroup(join(base, 'cpu'), { 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n' });
    const out = execFileSync(harness, ['v1', base], { encoding: 'utf8' });
    assert.equal(out.trim(), 'cpu_us=5000 memory_peak_bytes=4096000 oom_kills=2');
    assert.equal(readFileSync(join(base, 'memory/memory.limit_in_bytes'), 'utf8'), '2097152');
    assert.equal(readFileSync(join(base, 'memory/memory.memsw.limit_in_bytes'), 'utf8'), '2097152');
    assert.equal(readFileSync(join(base, 'memory/memory.swappiness'), 'utf8'), '0');
    assert.equal(readFileSync(join(base, 'pids/pids.max'), 'utf8'), '65');
    assert.equal(readFileSync(join(base, 'cpu/cpu.cfs_period_us'), 'utf8'), '100000');
    assert.equal(readFileSync(join(base, 'cpu/cpu.cfs_quota_us'), 'utf8'), '50000');
  });
});

describe('cgroup probing', () => {
  it('on a v2 host, enables memory, pids and cpu for the warmbox group', () => {
    const root = join(dir, 'probe-v2');
    fakeCgroup(root, { 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup.subtree_control': '', 'cgroup.procs': '' });
    fakeCgroup(join(root, 'warmbox'), { 'cgroup.subtree_control': '' });
    const layout = setUpCgroups(root);
    assert.equal(layout.version, 'v2');
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu');
    assert.deepEqual(layout.placementFor('w1-1'), { version: 'v2', unified: join(root, 'warmbox', 'w1-1') });
  });

  it('on a v2 host without the memory controller, names it and the fix', () => {
    const root = join(dir, 'probe-v2-nomem');
    fakeCgroup(root, { 'cgroup.controllers': 'cpu pids\n', 'cgroup.subtree_control': '' });
    assert.throws(() => setUpCgroups(root), (e: Error) => e instanceof CgroupSetupError && /memory/.test(e.message) && /subtree_control|Delegate/.test(e.message));
  });

  it('on a v1 host, uses the memory, pids, cpuacct and cpu hierarchies', () => {
    const root = join(dir, 'probe-v1');
    for (const c of ['memory', 'pids', 'cpuacct', 'cpu']) fakeCgroup(join(root, c), { 'cgroup.procs': '' });
    const layout = setUpCgroups(root);
    assert.equal(layout.version, 'v1');
    assert.deepEqual(layout.placementFor('w1-1'), {
      version: 'v1',
      memory: join(root, 'memory/warmbox/w1-1'),
      pids: join(root, 'pids/warmbox/w1-1'),
      cpuacct: join(root, 'cpuacct/warmbox/w1-1'),
      cpu: join(root, 'cpu/warmbox/w1-1'),
    });
  });

  it('on a v1 host where cpu and cpuacct are one hierarchy (cpu,cpuacct), lists its parent once', () => {
    const root = join(dir, 'probe-v1-comounted');
    for (const c of ['memory', 'pids', 'cpu,cpuacct']) fakeCgroup(join(root, c), { 'cgroup.procs': '' });
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
    const layout = setUpCgroups(root);
    assert.equal(layout.parents.length, 3);
  });

  it('says what is missing when neither is usable', () => {
    assert.throws(() => setUpCgroups(join(dir, 'nothing')), /no usable cgroups/);
  });
});
