/**
 * The launcher's parser (runtime/native/spec.c) against messages the TypeScript encoder makes from
 * the same table (runtime/launcher-wire.json): it takes each of them as sent, and refuses one that
 * lacks a required key, repeats a single one or has one the table does not know, naming the key —
 * it has no defaults to fall back on.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../contract/paths.js';
import { encodeRun, encodeSetup, type RunMessage, type SetupMessage } from '../../runtime/launcher-protocol.js';
import WIRE from '../../runtime/launcher-wire.json' with { type: 'json' };

let dir: string;
let harness: string;

before(() => {
  const native = join(packageRoot(), 'runtime/native');
  execFileSync('make', ['-s', '-C', native, 'build/wire-keys.h']);
  dir = mkdtempSync(join(tmpdir(), 'warmbox-spec-'));
  harness = join(dir, 'spec-harness');
  execFileSync('cc', ['-std=gnu11', '-D_GNU_SOURCE', '-Wall', '-Werror', `-I${native}`, `-I${join(native, 'build')}`, '-o', harness, join(packageRoot(), 'test/runtime/native/spec-harness.c'), join(native, 'spec.c')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const SETUP: SetupMessage = {
  lowerDirs: ['/l/base', '/l/top'],
  mountDir: '/run/mnt',
  diskBytes: 1048576,
  uid: 65534,
  gid: 65534,
  hostname: 'warmbox',
  workdir: '/work',
  cgroup: { version: 'v2', unified: '/sys/fs/cgroup/warmbox/w1-1' },
  parkedMemoryBytes: 4194304,
  parkedPids: 64,
  parkedCpus: 1,
};

const RUN: RunMessage = {
  argv: ['sh', '-c', 'true'],
  env: ['A=1'],
  files: [{ path: 'main.py', content: Buffer.from('print(1)\0'), mode: 0o644 }],
  wallTimeMs: 1000,
  cpuTimeMs: 500,
  memoryBytes: 67108864,
  pids: 16,
  outputBytes: 1024,
  stderrBytes: 512,
  stackBytes: 8388608,
  openFiles: 64,
  fileSizeBytes: 0,
  cpus: 0.5,
};

/** A message as its records, each with the raw bytes a `file` record carries after it. */
function records(message: Buffer): { key: string; bytes: Buffer }[] {
  const out: { key: string; bytes: Buffer }[] = [];
  let off = 0;
  for (;;) {
    const end = message.indexOf(0, off);
    const text = message.subarray(off, end).toString();
    if (text === '') return out;
    const size = /^file=[0-7]+:(\d+):/.exec(text)?.[1];
    const next = end + 1 + Number(size ?? 0);
    out.push({ key: text.slice(0, text.indexOf('=')), bytes: message.subarray(off, next) });
    off = next;
  }
}

function rebuild(recs: { bytes: Buffer }[]): Buffer {
  return Buffer.concat([...recs.map((r) => r.bytes), Buffer.from('\0')]);
}

function parse(kind: 'setup' | 'run', message: Buffer): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(harness, [kind], { input: message, encoding: 'utf8' });
}

describe('launcher message parser', () => {
  it('takes a setup message as the encoder makes it, every value as sent', () => {
    const r = parse('setup', encodeSetup(SETUP));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'lower=2 mnt=/run/mnt disk_bytes=1048576 uid=65534 gid=65534 hostname=warmbox workdir=/work cgroup=2 memory_bytes=4194304 pids=64 cpu_quota_us=100000 cpu_period_us=100000');
  });

  it('takes a run message as the encoder makes it, every value as sent', () => {
    const r = parse('run', encodeRun(RUN));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'argc=3 envc=1 files=1 wall_ms=1000 cpu_ms=500 memory_bytes=67108864 pids=16 output_bytes=1024 nofile=64 fsize_bytes=0 cpu_quota_us=50000 cpu_period_us=100000');
  });

  for (const [kind, fields, message] of [['setup', WIRE.setup, () => encodeSetup(SETUP)], ['run', WIRE.run, () => encodeRun(RUN)]] as const) {
    for (const field of fields.filter((f) => !('optional' in f && f.optional))) {
      it(`refuses a ${kind} message without '${field.key}' instead of defaulting it`, () => {
        const recs = records(message());
        assert.ok(recs.some((r) => r.key === field.key), `the encoder sends ${field.key}`);
        const r = parse(kind, rebuild(recs.filter((rec) => rec.key !== field.key)));
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`${kind} message lacks '${field.key}'`));
      });
    }
  }

  it('refuses a key the table does not know, and a single key given twice', () => {
    const recs = records(encodeSetup(SETUP));
    const unknown = parse('setup', rebuild([...recs, { bytes: Buffer.from('shell=/bin/sh\0') }]));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown setup key 'shell'/);
    const twice = parse('setup', rebuild([...recs, { bytes: Buffer.from('uid=0\0') }]));
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /setup key 'uid' given twice/);
  });

  it('refuses a CPU quota or period the kernel would refuse', () => {
    const recs = records(encodeRun(RUN));
    const withQuota = (q: string) => rebuild(recs.map((r) => (r.key === 'cpu_quota_us' ? { ...r, bytes: Buffer.from(`cpu_quota_us=${q}\0`) } : r)));
    const r = parse('run', withQuota('999'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cpu_quota_us at least 1000/);
    assert.equal(parse('run', withQuota('1000')).status, 0);
  });

  it('takes network bridge as sent, and refuses it in part, with a bad address or a name too long for an interface', () => {
    const network = { bridge: 'wbx1a', veth: 'wbx1a-2', address: '172.29.0.2', prefix: 24, gateway: '172.29.0.1', nameservers: ['9.9.9.9', '1.1.1.1'] };
    const r = parse('setup', encodeSetup({ ...SETUP, network }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^net bridge=wbx1a veth=wbx1a-2 address=172.29.0.2\/24 gateway=172.29.0.1 nameservers=2$/m);
    const recs = records(encodeSetup({ ...SETUP, network }));
    const partial = parse('setup', rebuild(recs.filter((rec) => rec.key !== 'net_gateway')));
    assert.equal(partial.status, 1);
    assert.match(partial.stderr, /come together or not at all/);
    const badAddress = parse('setup', encodeSetup({ ...SETUP, network: { ...network, address: '172.29.0.256' } }));
    assert.equal(badAddress.status, 1);
    assert.match(badAddress.stderr, /net_address is not an IPv4 address/);
    const longName = parse('setup', encodeSetup({ ...SETUP, network: { ...network, veth: 'a-name-of-16-chr' } }));
    assert.equal(longName.status, 1);
    assert.match(longName.stderr, /shorter than 16 bytes/);
  });

  it('takes the optional keys away without complaint (no env, no files, cgroup none)', () => {
    assert.equal(parse('run', encodeRun({ ...RUN, env: [], files: [] })).status, 0);
    assert.equal(parse('setup', encodeSetup({ ...SETUP, cgroup: { version: 'none' } })).status, 0);
  });
});
