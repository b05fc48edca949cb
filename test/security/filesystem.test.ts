/**
 * The file system a job sees, and the paths the host writes into it: no mount changes, no device
 * nodes beyond the harmless five, a read-only and masked /proc, no /sys, and no symlink a hostile
 * image plants ever followed when the request's files are placed (Judge0 CVE-2024-28185/28189,
 * runc CVE-2024-21626).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SandboxError } from '../../runtime/sandbox.js';
import {
  ATTACK_TIMEOUT_MS,
  describeRun,
  parseErrnos,
  programFile,
  securitySuite,
  type SandboxFixture,
} from '../helpers/sandbox-fixture.js';

const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Mounts as the job sees them: mount point, options, file system type. */
function parseMountinfo(text: string): { point: string; options: string[]; fstype: string }[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      const f = left.split(' ');
      return { point: f[4]!, options: f[5]!.split(','), fstype: right.split(' ')[0]! };
    });
}

/** Every entry of a directory tree with its type, mode, owner, size and mtime (lstat, no symlink followed). */
function treeFingerprint(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      const st = lstatSync(join(dir, path));
      lines.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return lines.join('\n');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A host directory with a secret in it, and a fingerprint of it to compare afterwards. */
async function hostCanary(fx: SandboxFixture, name: string): Promise<{ dir: string; fingerprint: () => string }> {
  const dir = join(fx.dataDir, name);
  await mkdir(dir, { mode: 0o777 });
  await writeFile(join(dir, 'secret'), 'host secret\n', { mode: 0o666 });
  const fingerprint = (): string =>
    readdirSync(dir)
      .sort()
      .map((f) => `${f}:${sha256(join(dir, f))}`)
      .join(',');
  return { dir, fingerprint };
}

/** The sandbox refuses the image, or the job runs without reaching the host: either is safe. */
async function createOrRefuse(fx: SandboxFixture, image: Awaited<ReturnType<SandboxFixture['buildImage']>>): Promise<'refused' | 'created'> {
  try {
    const sandbox = await fx.createSandbox(image);
    await sandbox.destroy();
    return 'created';
  } catch (err) {
    assert.ok(err instanceof SandboxError, `a hostile image must be refused with a SandboxError, not ${String(err)}`);
    return 'refused';
  }
}

describe('security: file system', () => {
  const suite = securitySuite('filesystem');

  it('mount, umount, pivot_root, chroot and the new mount API all fail with EPERM', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const probes = ['mount', 'mount_bind', 'umount', 'pivot_root', 'chroot', 'fsopen', 'open_tree'];
    const r = await fx.runJob(['./syscalls', ...probes], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    for (const probe of probes) assert.equal(errnos.get(probe), EPERM, `${probe}: ${describeRun(r)}`);
  });

  it("busybox `mount -t tmpfs` fails and leaves the job's mount table as it was", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', 'cat /proc/self/mountinfo; echo ---; mount -t tmpfs none /tmp; echo "mount exit $?"; echo ---; cat /proc/self/mountinfo'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    const [before = '', middle = '', after = ''] = r.stdout.toString().split('---\n');
    assert.match(middle, /^mount exit [1-9]\d*$/m, describeRun(r));
    assert.ok(before.includes(' / / '), describeRun(r));
    assert.equal(after, before, 'the mount table changed');
  });

  it('/dev holds only null, zero, full, random, urandom (+ fd links and shm); device nodes cannot be made; no block device anywhere', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const script = [
      'ls -A /dev | tr "\\n" " "; echo',
      'echo "block: $(find / -type b 2>/dev/null | tr "\\n" " ")"',
      'echo hello > /dev/null && echo "devnull ok"',
      'echo "urandom $(head -c 16 /dev/urandom | wc -c)"',
      'echo x > /dev/full || echo "devfull failed"',
      'touch /dev/evil 2>/dev/null || echo "dev not writable"',
    ].join('\n');
    const r = await fx.runJob(['sh', '-c', script], { wallTimeMs: 10_000, cpuTimeMs: 5000 });
    const out = r.stdout.toString();
    assert.equal(out.split('\n')[0]!.trim().split(' ').sort().join(' '), 'fd full null random shm stderr stdin stdout urandom zero', describeRun(r));
    assert.match(out, /^block: $/m, 'a block device is reachable');
    assert.match(out, /^devnull ok$/m);
    assert.match(out, /^urandom 16$/m);
    assert.match(out, /^devfull failed$/m);
    assert.match(out, /^dev not writable$/m);

    const probes = await fx.runJob(['./syscalls', 'mknod_char', 'mknod_block', 'mknod_fifo'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(probes.stdout);
    assert.equal(errnos.get('mknod_char'), EPERM, describeRun(probes));
    assert.equal(errnos.get('mknod_block'), EPERM, describeRun(probes));
    assert.equal(errnos.get('mknod_fifo'), 0, `control: a FIFO can be made: ${describeRun(probes)}`);
  });

  it('device nodes in an image layer (a char device for /dev/mem, a block device for the disk) never reach the job', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const image = await fx.buildImage({
      name: 'device-nodes',
      extraEntries: [
        { path: 'work/mem', type: 'CharacterDevice', mode: 0o666, devmaj: 1, devmin: 1 },
        { path: 'work/kmsg', type: 'CharacterDevice', mode: 0o666, devmaj: 1, devmin: 11 },
        { path: 'work/sda', type: 'BlockDevice', mode: 0o666, devmaj: 8, devmin: 0 },
      ],
    });
    const probes = ['read:/work/mem', 'read:/work/kmsg', 'read:/work/sda'];
    const r = await fx.runJob(['sh', '-c', `./syscalls ${probes.join(' ')}; ls -A /work`], { image, files: [await programFile('syscalls')], wallTimeMs: 5000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    // Left out by the unpacker (ENOENT); were one there, the nodev mount would still refuse it (EACCES).
    for (const probe of probes) assert.ok([ENOENT, EACCES].includes(errnos.get(probe) ?? 0), `${probe}: ${describeRun(r)}`);
  });

  it("the job's cgroup is the root of its own cgroup namespace: no host cgroup path is visible", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['cat', '/proc/self/cgroup'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    for (const line of r.stdout.toString().trim().split('\n')) {
      const path = line.split(':').slice(2).join(':');
      assert.doesNotMatch(path, /warmbox|w\d+-\d+/, `host cgroup path visible: ${line}`);
    }
  });

  it('/proc/sys and its siblings are read-only, /proc/sys/kernel/hostname cannot be written', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const probe = 'write:/proc/sys/kernel/hostname';
    const r = await fx.runJob(['sh', '-c', `./syscalls ${probe}; cat /proc/self/mountinfo`], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    assert.equal(parseErrnos(r.stdout).get(probe), EACCES, describeRun(r));
    const mounts = parseMountinfo(r.stdout.toString().split('\n').slice(1).join('\n'));
    for (const dir of ['sys', 'irq', 'bus', 'fs']) {
      if (!existsSync(`/proc/${dir}`)) continue;
      const m = mounts.find((x) => x.point === `/proc/${dir}`);
      assert.ok(m?.options.includes('ro'), `/proc/${dir} must be a read-only mount, is ${m?.options.join(',') ?? 'not mounted'}`);
    }
  });

  it('/proc/kcore, sysrq-trigger, keys, kallsyms, timer_list... are masked with /dev/null (or absent as on the host); masked dirs are empty', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const files = ['kcore', 'sysrq-trigger', 'keys', 'kallsyms', 'timer_list', 'sched_debug', 'latency_stats'];
    const dirs = ['acpi', 'scsi', 'asound', 'firmware'];
    const script = [
      `for f in ${files.join(' ')}; do if [ -e /proc/$f ]; then echo "file $f $(stat -c %t:%T /proc/$f)"; else echo "file $f absent"; fi; done`,
      `for d in ${dirs.join(' ')}; do if [ -e /proc/$d ]; then echo "dir $d [$(ls -A /proc/$d | tr "\\n" " ")]"; else echo "dir $d absent"; fi; done`,
    ].join('\n');
    const r = await fx.runJob(['sh', '-c', script], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    const out = r.stdout.toString();
    for (const f of files) {
      const seen = new RegExp(`^file ${f} (.*)$`, 'm').exec(out)?.[1];
      if (existsSync(`/proc/${f}`)) assert.equal(seen, '1:3', `/proc/${f} must be /dev/null (char 1:3) in the job: ${describeRun(r)}`);
      else assert.ok(seen === 'absent' || seen === '1:3', `/proc/${f}: ${seen}`);
    }
    for (const d of dirs) {
      const seen = new RegExp(`^dir ${d} (.*)$`, 'm').exec(out)?.[1];
      assert.ok(seen === 'absent' || seen === '[]', `/proc/${d} must be absent or empty, is ${seen}`);
    }
  });

  it('/sys is absent, and no sysfs, cgroup, debugfs or other kernel file system is mounted', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', 'ls /sys >/dev/null 2>&1 && echo "sys present" || echo "sys absent"; cat /proc/self/mountinfo'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    const out = r.stdout.toString();
    assert.match(out, /^sys absent$/m, describeRun(r));
    const fstypes = new Set(parseMountinfo(out.split('\n').slice(1).join('\n')).map((m) => m.fstype));
    for (const t of fstypes) assert.ok(['overlay', 'proc', 'tmpfs', 'devtmpfs'].includes(t), `unexpected ${t} mount in the job`);
  });

  it("`hostname foo` fails (EPERM); the job's hostname is its own and the host's is unchanged", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const before = hostname();
    const r = await fx.runJob(['sh', '-c', 'hostname foo; echo "exit $?"; hostname; ./syscalls sethostname'], { files: [await programFile('syscalls')], wallTimeMs: 5000, cpuTimeMs: 2000 });
    const out = r.stdout.toString();
    assert.match(out, /^exit [1-9]\d*$/m, describeRun(r));
    assert.match(out, /^warmbox$/m, describeRun(r));
    assert.equal(parseErrnos(out).get('sethostname'), EPERM, describeRun(r));
    assert.equal(hostname(), before);
  });

  describe('symlinks a hostile image plants where the request files go are never followed', () => {
    const passwdHash = sha256('/etc/passwd');

    /** Busybox with WorkingDir /work, where the image has planted the given symlinks. */
    async function plantedImage(fx: SandboxFixture, links: Record<string, string>) {
      return fx.buildImage({
        name: 'planted-symlinks',
        config: { Env: [PATH_ENV], WorkingDir: '/work' },
        build: async (rootfs) => {
          for (const [name, target] of Object.entries(links)) await symlink(target, join(rootfs, 'work', name));
        },
      });
    }

    async function placeThrough(fx: SandboxFixture, image: Awaited<ReturnType<typeof plantedImage>>, path: string) {
      return fx.runJob(['sh', '-c', 'echo the command ran'], {
        image,
        files: [{ path, content: Buffer.from('root::0:0:owned:/root:/bin/sh\n'), mode: 0o644 }],
        wallTimeMs: 5000,
        cpuTimeMs: 2000,
      });
    }

    it('a file `evil/passwd` through `work/evil -> /etc` is refused with exit 126; /etc/passwd (host and image) unchanged', { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const image = await plantedImage(fx, { evil: '/etc' });
      const r = await placeThrough(fx, image, 'evil/passwd');
      assert.equal(r.exitCode, 126, describeRun(r));
      assert.match(r.stderr.toString(), /warmbox: placing file 'evil\/passwd'/, describeRun(r));
      assert.equal(r.stdout.toString(), '', 'the command must not run when its files cannot be placed');
      assert.equal(sha256('/etc/passwd'), passwdHash, "the host's /etc/passwd changed");
      const check = await fx.runJob(['cat', '/etc/passwd'], { image, wallTimeMs: 5000, cpuTimeMs: 2000 });
      assert.doesNotMatch(check.stdout.toString(), /owned/, "the image's /etc/passwd changed");
    });

    it('a file placed on a symlink to a file (`work/passwd -> /etc/passwd`) is refused with exit 126', { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const image = await plantedImage(fx, { passwd: '/etc/passwd' });
      const r = await placeThrough(fx, image, 'passwd');
      assert.equal(r.exitCode, 126, describeRun(r));
      assert.match(r.stderr.toString(), /warmbox: placing file 'passwd'/);
      assert.equal(sha256('/etc/passwd'), passwdHash);
    });

    it("a symlink to an absolute host path (the host's own canary file and dir) is never followed", { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const canary = await hostCanary(fx, 'canary-planted');
      const before = canary.fingerprint();
      const image = await plantedImage(fx, { hostfile: join(canary.dir, 'secret'), hostdir: canary.dir });
      for (const path of ['hostfile', 'hostdir/secret', 'hostdir/new']) {
        const r = await placeThrough(fx, image, path);
        assert.equal(r.exitCode, 126, `${path}: ${describeRun(r)}`);
        assert.match(r.stderr.toString(), /warmbox: placing file/);
      }
      assert.equal(canary.fingerprint(), before, 'a host file changed');
    });

    it('a relative symlink out of the working directory (`work/up -> ..`) is refused too', { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const image = await plantedImage(fx, { up: '..' });
      const r = await placeThrough(fx, image, 'up/etc/passwd');
      assert.equal(r.exitCode, 126, describeRun(r));
      assert.match(r.stderr.toString(), /warmbox: placing file 'up\/etc\/passwd'/);
    });
  });

  it('request file paths that are absolute or climb with `..` are refused with exit 126', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    for (const path of ['/etc/passwd', '../etc/passwd', 'a/../../etc/passwd', '..', 'a/..']) {
      const r = await fx.runJob(['sh', '-c', 'echo the command ran'], {
        files: [{ path, content: Buffer.from('x'), mode: 0o644 }],
        wallTimeMs: 5000,
        cpuTimeMs: 2000,
      });
      assert.equal(r.exitCode, 126, `${path}: ${describeRun(r)}`);
      assert.equal(r.stdout.toString(), '', `${path}: the command ran`);
    }
  });

  describe('hostile image configs', () => {
    for (const workingDir of ['/proc/self/fd/3', '/proc/self/cwd', '/../etc', '/work/../../etc', '/sys/fs', '/dev/shm', 'relative/dir']) {
      it(`WorkingDir ${JSON.stringify(workingDir)} is refused with a SandboxError`, { timeout: ATTACK_TIMEOUT_MS }, async () => {
        const fx = await suite.fixture();
        const image = await fx.buildImage({ name: 'hostile-workdir', config: { Env: [PATH_ENV], WorkingDir: workingDir } });
        await assert.rejects(fx.createSandbox(image), SandboxError);
      });
    }

    for (const [name, target] of [
      ['an fd of the launcher', '/proc/self/fd/3'],
      ["the launcher's cwd", '/proc/self/cwd'],
      ["the sandbox init's cwd", '/proc/1/cwd'],
      ['a host directory', 'HOST_CANARY'],
    ] as const) {
      it(`a WorkingDir through an image symlink to ${name} is refused or stays inside the sandbox`, { timeout: ATTACK_TIMEOUT_MS }, async () => {
        const fx = await suite.fixture();
        const canary = await hostCanary(fx, `canary-wd-${name.replace(/\W+/g, '-')}`);
        const before = canary.fingerprint();
        const linkTarget = target === 'HOST_CANARY' ? canary.dir : target;
        for (const workingDir of ['/wd', '/wd/sub']) {
          const image = await fx.buildImage({
            name: 'workdir-symlink',
            config: { Env: [PATH_ENV], WorkingDir: workingDir },
            build: (rootfs) => symlink(linkTarget, join(rootfs, 'wd')),
          });
          if ((await createOrRefuse(fx, image)) === 'refused') continue;
          const r = await fx.runJob(['sh', '-c', 'pwd; ls -A; cat secret 2>/dev/null; echo written > planted; true'], { image, wallTimeMs: 5000, cpuTimeMs: 2000 });
          assert.doesNotMatch(r.stdout.toString(), /host secret/, `the job read the host canary: ${describeRun(r)}`);
        }
        assert.equal(canary.fingerprint(), before, 'a host file changed');
        assert.deepEqual(readdirSync(canary.dir), ['secret']);
      });
    }

    it("an image whose /proc, /dev or /tmp is a symlink to a host directory neither reads nor changes it", { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const canary = await hostCanary(fx, 'canary-special-dirs');
      const before = canary.fingerprint();
      for (const dir of ['proc', 'dev', 'tmp']) {
        const image = await fx.buildImage({
          name: `symlinked-${dir}`,
          build: async (rootfs) => {
            await rm(join(rootfs, dir), { recursive: true });
            await symlink(canary.dir, join(rootfs, dir));
          },
        });
        if ((await createOrRefuse(fx, image)) === 'refused') continue;
        const r = await fx.runJob(['sh', '-c', `cat /${dir}/secret; ls -A /${dir}/; echo x > /${dir}/planted; true`], { image, wallTimeMs: 5000, cpuTimeMs: 2000 });
        assert.doesNotMatch(r.stdout.toString(), /host secret/, `${dir}: the job read the host canary: ${describeRun(r)}`);
        assert.equal(canary.fingerprint(), before, `${dir}: a host file changed`);
      }
      const leaked = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(canary.dir));
      assert.deepEqual(leaked, [], "a sandbox mount reached the host's mount table");
    });
  });

  it("a job that rewrites its image's files (it owns the root dir: renames /bin and /etc) changes only its own sandbox, never the stored layer", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const layer = fx.busybox.layerDirs[0]!;
    const before = treeFingerprint(layer);
    const script = [
      'cd /',
      '/bin/busybox mv /etc /etc.old && /bin/busybox mkdir /etc && echo "root::0:0:poisoned:/:/bin/sh" > /etc/passwd',
      '/bin/busybox mv /bin /bin.old && /bin.old/busybox mkdir /bin && /bin.old/busybox cp /bin.old/busybox /bin/sh',
      '/bin.old/busybox touch /poisoned',
      '/bin.old/busybox echo done',
    ].join('\n');
    const r = await fx.runJob(['/bin/busybox', 'sh', '-c', script], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(r.stdout.toString(), 'done\n', `the job could not even try: ${describeRun(r)}`);
    assert.equal(treeFingerprint(layer), before, 'the stored image layer changed');

    const next = await fx.runJob(['sh', '-c', 'cat /etc/passwd; ls /poisoned /bin.old 2>&1; true'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(next.verdict, 'ok', describeRun(next));
    assert.doesNotMatch(next.stdout.toString(), /root::0:0:poisoned/, describeRun(next));
    assert.match(next.stdout.toString(), /\/poisoned: No such file or directory/);
  });

  it('a job cannot read host files by absolute path: the host data dir and /etc/shadow are not in its root', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const canary = await hostCanary(fx, 'canary-abs');
    const probe = `read:${join(canary.dir, 'secret')}`;
    const r = await fx.runJob(['./syscalls', probe, 'read:/etc/shadow'], { files: [await programFile('syscalls')], wallTimeMs: 5000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    assert.equal(errnos.get(probe), ENOENT, describeRun(r));
    assert.equal(errnos.get('read:/etc/shadow'), ENOENT, describeRun(r));
  });
});
