import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRun, encodeSetup, parseEvent } from '../../runtime/launcher-protocol.js';
import WIRE from '../../runtime/launcher-wire.json' with { type: 'json' };

/** Splits a message back into its records, the way runtime/native/spec.c reads it. */
function records(buf: Buffer): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf(0, off);
    const rec = buf.subarray(off, end).toString();
    off = end + 1;
    if (rec === '') break;
    out.push(rec);
    const file = /^file=[0-7]+:(\d+):/.exec(rec);
    if (file) {
      out.push(buf.subarray(off, off + Number(file[1])));
      off += Number(file[1]);
    }
  }
  assert.equal(off, buf.length, 'the empty record ends the message');
  return out;
}

describe('launcher protocol', () => {
  it('encodes a setup message as key=value records, layers bottom-most first', () => {
    const msg = encodeSetup({
      lowerDirs: ['/l/base', '/l/top'],
      mountDir: '/run/mnt',
      diskBytes: 1024,
      uid: 65534,
      gid: 65534,
      hostname: 'warmbox',
      workdir: '/work',
      cgroup: { version: 'v2', unified: '/sys/fs/cgroup/warmbox/w1-1' },
      parkedMemoryBytes: 4096,
      parkedPids: 4,
      parkedCpus: 0.5,
    });
    assert.deepEqual(records(msg), [
      'lower=/l/base',
      'lower=/l/top',
      'mnt=/run/mnt',
      'disk_bytes=1024',
      'uid=65534',
      'gid=65534',
      'hostname=warmbox',
      'workdir=/work',
      'cgroup=v2',
      'cgroup_unified=/sys/fs/cgroup/warmbox/w1-1',
      'memory_bytes=4096',
      'pids=4',
      'cpu_quota_us=50000',
      'cpu_period_us=100000',
    ]);
  });

  it('carries file contents as raw bytes after their record, binary-safe', () => {
    const content = Buffer.from([0, 1, 2, 0xff, 0]);
    const msg = encodeRun({
      argv: ['sh', '-c', 'a b'],
      env: ['A=1'],
      files: [{ path: 'dir/bin', content, mode: 0o4755 }],
      wallTimeMs: 1,
      cpuTimeMs: 2,
      memoryBytes: 3,
      pids: 4,
      outputBytes: 5,
      stderrBytes: 5,
      stackBytes: 8,
      openFiles: 6,
      fileSizeBytes: 7,
      cpus: 1,
    });
    const recs = records(msg);
    assert.deepEqual(recs.slice(0, 4), ['arg=sh', 'arg=-c', 'arg=a b', 'env=A=1']);
    const fileAt = recs.indexOf('file=755:5:dir/bin');
    assert.ok(fileAt > 0, 'setuid/setgid/sticky bits are never sent');
    assert.deepEqual(recs[fileAt + 1], content);
  });

  it('sends every key in the order of runtime/launcher-wire.json, the v1 cgroup dirs and network bridge included', () => {
    const msg = encodeSetup({
      lowerDirs: ['/l/base'],
      mountDir: '/run/mnt',
      diskBytes: 1024,
      uid: 1000,
      gid: 1000,
      hostname: 'warmbox',
      workdir: '/',
      cgroup: { version: 'v1', memory: '/cg/memory/w', pids: '/cg/pids/w', cpuacct: '/cg/cpuacct/w', cpu: '/cg/cpu/w' },
      parkedMemoryBytes: 4096,
      parkedPids: 64,
      parkedCpus: 1,
      network: { bridge: 'wbx1', veth: 'wbx1-1', address: '172.29.0.2', prefix: 24, gateway: '172.29.0.1', nameservers: ['9.9.9.9'] },
    });
    const keys = records(msg).map((r) => String(r).split('=')[0]);
    const order = WIRE.setup.map((f) => f.key);
    assert.deepEqual(keys, order.filter((k) => k !== 'cgroup_unified'));
  });

  it('refuses to send a message that lacks a required value, or a number that is not one', () => {
    const run = { argv: ['true'], env: [], files: [], wallTimeMs: 1, cpuTimeMs: 1, memoryBytes: 1, pids: 1, outputBytes: 1, stderrBytes: 1, openFiles: 1, fileSizeBytes: 1, stackBytes: 1, cpus: 1 };
    assert.throws(() => encodeRun({ ...run, argv: [] }), /run message lacks arg/);
    assert.throws(() => encodeRun({ ...run, pids: 1.5 }), /pids must be a non-negative integer/);
    assert.throws(() => encodeRun({ ...run, wallTimeMs: -1 }), /wall_ms must be a non-negative integer/);
  });

  it('refuses a NUL byte inside a record', () => {
    assert.throws(() => encodeRun({ argv: ['a\0b'], env: [], files: [], wallTimeMs: 1, cpuTimeMs: 1, memoryBytes: 1, pids: 1, outputBytes: 1, stderrBytes: 1, openFiles: 1, fileSizeBytes: 1, stackBytes: 1, cpus: 1 }), /NUL/);
  });

  it('parses ready, result and error events', () => {
    assert.deepEqual(parseEvent('ready'), { type: 'ready' });
    assert.deepEqual(parseEvent('gone'), { type: 'gone' });
    const ev = parseEvent(
      'result status=exited code=3 signal=0 exec_errno=0 wall_us=1500 cpu_us=900 memory_peak_bytes=4096 oom_kills=0 limit=none output_bytes=12 truncated=none',
    );
    assert.equal(ev.type, 'result');
    if (ev.type === 'result') {
      assert.equal(ev.result.code, 3);
      assert.equal(ev.result.wallUs, 1500);
      assert.equal(ev.result.limit, 'none');
    }
    assert.deepEqual(parseEvent('error setup: contain failed'), { type: 'error', stage: 'setup', message: 'contain failed' });
    assert.throws(() => parseEvent('bogus'), /unexpected launcher event/);
  });
});
