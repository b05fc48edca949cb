/**
 * What a job learns of the host it runs on: no host path (where the data, the store, the launcher,
 * its socket or the code are), no host pid (the worker's, the zygote's, the supervisor's, its own
 * on the host), and no host figure it does not need (the kernel's default tmpfs size and inode
 * count are half the host's memory). A job reads everything that tends to tell: its mount table
 * in each of its forms, /proc/1 (its init), its cgroups, status, hostname, environment, and the
 * messages warmbox writes to its stderr.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { launcherPath, packageRoot } from '../../contract/paths.js';
import type { RunResult } from '../../runtime/sandbox.js';
import {
  ATTACK_TIMEOUT_MS,
  describeRun,
  hostProcessesWith,
  securitySuite,
  withDescendants,
  type SandboxFixture,
} from '../helpers/sandbox-fixture.js';

const exec = promisify(execFile);

/** Files and commands whose output a job could mine, each printed under `=== <name>`. */
const SOURCES: Record<string, string> = {
  'mountinfo': 'cat /proc/self/mountinfo',
  'init mountinfo': 'cat /proc/1/mountinfo',
  'mounts': 'cat /proc/self/mounts',
  'mountstats': 'cat /proc/self/mountstats',
  'cgroup': 'cat /proc/self/cgroup',
  'init cgroup': 'cat /proc/1/cgroup',
  'init cmdline': 'tr "\\0" " " < /proc/1/cmdline',
  'init comm': 'cat /proc/1/comm',
  'init environ': 'tr "\\0" " " < /proc/1/environ',
  'init status': 'cat /proc/1/status',
  'status': 'cat /proc/self/status',
  'hostname': 'hostname; cat /proc/sys/kernel/hostname /etc/hostname /etc/hosts',
  'environment': 'env',
  'df': 'df -k',
  'statfs': 'for m in $(cut -d" " -f5 /proc/self/mountinfo); do stat -f -c "%n %b %S %c" "$m"; done',
};

const SCRIPT = Object.entries(SOURCES).map(([name, cmd]) => `echo "=== ${name}"; ${cmd} 2>&1`).join('\n');

function sections(stdout: Buffer | string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of stdout.toString().split(/^=== /m).slice(1)) {
    const nl = part.indexOf('\n');
    out.set(part.slice(0, nl), part.slice(nl + 1));
  }
  for (const name of ['mountinfo', 'init cmdline', 'cgroup', 'status', 'statfs']) {
    assert.ok(out.get(name)?.trim(), `the job could not even read ${name}: ${stdout.toString().slice(0, 2000)}`);
  }
  return out;
}

/** Where the host keeps warmbox's things: none of it may appear anywhere a job can read. */
function hostPaths(fx: SandboxFixture): string[] {
  return [fx.dataDir, fx.store.root, fx.runDir, fx.mountDir, fx.socketPath, launcherPath(), packageRoot()];
}

/** Runs SCRIPT; plus a job whose command does not exist and one whose file cannot be placed, for their error messages. */
async function readEverything(fx: SandboxFixture): Promise<{ run: RunResult; seen: Map<string, string> }> {
  const run = await fx.runJob(['sh', '-c', SCRIPT], { wallTimeMs: 20_000, cpuTimeMs: 10_000 });
  const seen = sections(run.stdout);
  const missing = await fx.runJob(['no-such-command'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
  const unplaceable = await fx.runJob(['true'], { files: [{ path: '../escape', content: Buffer.from('x'), mode: 0o644 }], wallTimeMs: 5000, cpuTimeMs: 2000 });
  seen.set('exec error', missing.stderr.toString());
  seen.set('file error', unplaceable.stderr.toString());
  assert.match(seen.get('exec error')!, /no-such-command/, describeRun(missing));
  assert.match(seen.get('file error')!, /escape/, describeRun(unplaceable));
  return { run, seen };
}

/** A mountinfo line without its first three fields (mount ids, device numbers): what names things. */
function withoutIds(mountinfo: string): string {
  return mountinfo.split('\n').map((line) => line.split(' ').slice(3).join(' ')).join('\n');
}

/** Numbers of a text, as whole tokens. */
function numbersIn(text: string): number[] {
  return (text.match(/\d+/g) ?? []).map(Number);
}

/**
 * Where a pid shows when it leaks: a path component (`run/<pid>/`), part of a name (`w<pid>-3`), a
 * value of its own (`PPid: <pid>`); not a number that is the value of an option (`nr_inodes=64`).
 */
function mentionsPid(text: string, pid: number): boolean {
  return new RegExp(`(?:^|[^\\d=])${pid}(?!\\d)`, 'm').test(text);
}

/**
 * The figures the kernel derives from the host's memory: MemTotal, the size and inode count a
 * tmpfs gets by default (measured on a tmpfs mounted in a private mount namespace), and those of
 * the host's devtmpfs.
 */
async function hostMemoryFigures(fx: SandboxFixture): Promise<{ kib: number[]; inodes: number[] }> {
  const memTotal = Number(/^MemTotal:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'))?.[1]);
  assert.ok(memTotal > 0, 'MemTotal');
  const probe = join(fx.dataDir, 'tmpfs-probe');
  await mkdir(probe, { recursive: true });
  const { stdout } = await exec('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs probe "${probe}" && stat -f -c "%b %S %c" "${probe}"`]);
  const [blocks = 0, blockSize = 0, files = 0] = stdout.trim().split(' ').map(Number);
  assert.ok(blocks > 0 && files > 0, `default tmpfs: ${stdout}`);
  const kib = [memTotal, (blocks * blockSize) / 1024];
  const inodes = [files];
  const devtmpfs = / - devtmpfs \S+ \S*size=(\d+)k,nr_inodes=(\d+)/.exec(await readFile('/proc/self/mountinfo', 'utf8'));
  if (devtmpfs) {
    kib.push(Number(devtmpfs[1]));
    inodes.push(Number(devtmpfs[2]));
  }
  return { kib, inodes };
}

describe('security: what a job learns of the host', () => {
  const suite = securitySuite('host-leaks');

  it('no host path: the mount table (every form), /proc/1, cgroups, status, hostname, environment and error messages name none', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const { seen } = await readEverything(fx);
    for (const [name, text] of seen) {
      for (const path of hostPaths(fx)) {
        assert.ok(!text.includes(path), `${name} names the host path ${path}:\n${text}`);
      }
    }
  });

  it("no host pid: neither the worker's, the zygote's, the supervisor's nor the job's own on the host", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    // The job prints everything, then waits; meanwhile the host's pids of its whole chain are taken.
    const abort = new AbortController();
    let output = '';
    let hostPids = new Set<number>();
    const run = await fx.runJob(['sh', '-c', `${SCRIPT}\necho "=== end"; sleep 60`], {
      wallTimeMs: 90_000,
      cpuTimeMs: 10_000,
      signal: abort.signal,
      onStdout: (chunk) => {
        output += chunk.toString();
        if (!output.includes('=== end') || abort.signal.aborted) return;
        hostPids = withDescendants([...hostProcessesWith(fx.socketPath), process.pid]);
        abort.abort();
      },
    });
    assert.equal(run.verdict, 'cancelled', describeRun(run));
    const seen = sections(output);
    // The chain: the worker (this process), the zygote, the supervisor, the init and the job.
    assert.ok(hostPids.size >= 5, `found only the host pids ${[...hostPids].join(' ')}`);
    for (const [name, raw] of seen) {
      // Numbers that are no pids: sizes and counts (statfs, df, status), mount ids and device numbers.
      if (name === 'statfs' || name === 'df') continue;
      const text = name.includes('mountinfo') ? withoutIds(raw)
        : name.includes('status') ? raw.split('\n').filter((l) => /^(Tgid|Pid|PPid|TracerPid|NStgid|NSpid|NSpgid|NSsid):/.test(l)).join('\n')
        : raw;
      const leaked = [...hostPids].filter((pid) => mentionsPid(text, pid));
      assert.deepEqual(leaked, [], `${name} shows the host pid(s) ${leaked.join(' ')}:\n${text}`);
    }
  });

  it('its init is a neutral `warmbox-init`: /proc/1/cmdline and comm say nothing of the launcher or its socket', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', 'od -An -c /proc/1/cmdline | tr -s " "; cat /proc/1/comm; cat /proc/1/environ; echo "environ exit $?"'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    const lines = r.stdout.toString().split('\n');
    assert.equal(lines[0]?.trim(), 'w a r m b o x - i n i t \\0', `/proc/1/cmdline is exactly "warmbox-init\\0": ${describeRun(r)}`);
    assert.equal(lines[1], 'warmbox-init', describeRun(r));
    assert.match(r.stdout.toString(), /^environ exit [1-9]/m, `the init's environment is not the job's to read: ${describeRun(r)}`);
  });

  it("no host memory figure: every file system has a size and inode count of its own, none the kernel's default (half the host's memory)", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const host = await hostMemoryFigures(fx);
    const { seen } = await readEverything(fx);
    // Each form a size takes: KiB (mount options, df), bytes, 4 KiB blocks (statfs); counts as they are.
    const forbidden = new Set([...host.kib.flatMap((k) => [k, k * 1024, k / 4]), ...host.inodes]);
    const figures: number[] = [];
    for (const name of ['mountinfo', 'init mountinfo']) figures.push(...numbersIn(withoutIds(seen.get(name) ?? '')));
    for (const name of ['mounts', 'df']) figures.push(...numbersIn(seen.get(name) ?? ''));
    for (const line of (seen.get('statfs') ?? '').trim().split('\n')) {
      const [blocks = 0, blockSize = 0, files = 0] = line.split(' ').slice(-3).map(Number);
      figures.push(blocks, files, blocks * blockSize, (blocks * blockSize) / 1024);
    }
    const leaked = figures.filter((n) => n > 0 && forbidden.has(n));
    assert.deepEqual(leaked, [], `the job sees the host's memory figures ${[...forbidden].join(' ')}:\n${seen.get('mountinfo')}\n${seen.get('statfs')}`);
  });
});
