/**
 * Privileges: a job is an unprivileged user with no capabilities, no way to gain any (no_new_privs,
 * nosuid, locked securebits) and a seccomp filter — and a setuid-root binary in an image or planted
 * by a job changes none of that (Piston #206).
 */
import assert from 'node:assert/strict';
import { chmod, chown, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HOST_BUSYBOX } from '../../images/builtin-images.js';
import {
  ATTACK_TIMEOUT_MS,
  compileStatic,
  describeRun,
  parseErrnos,
  programFile,
  SANDBOX_GID,
  SANDBOX_UID,
  securitySuite,
} from '../helpers/sandbox-fixture.js';

const EPERM = 1;

/** `Key:\tvalue` lines of /proc/<pid>/status. */
function statusFields(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .map((line) => /^([A-Za-z_]+):\s*(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.trim()]),
  );
}

describe('security: privileges', () => {
  const suite = securitySuite('privileges');

  for (const [where, argv] of [
    ['the job', ['cat', '/proc/self/status']],
    ['a grandchild of the job', ['sh', '-c', 'sh -c "cat /proc/self/status; true"; true']],
  ] as const) {
    it(`${where} has no capabilities at all, NoNewPrivs 1, Seccomp 2, and uid/gid/groups ${SANDBOX_UID}`, { timeout: ATTACK_TIMEOUT_MS }, async () => {
      const fx = await suite.fixture();
      const r = await fx.runJob([...argv], { wallTimeMs: 5000, cpuTimeMs: 2000 });
      assert.equal(r.verdict, 'ok', describeRun(r));
      const status = statusFields(r.stdout.toString());
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
        assert.equal(status.get(cap), '0000000000000000', `${cap}: ${describeRun(r)}`);
      }
      assert.equal(status.get('NoNewPrivs'), '1');
      assert.equal(status.get('Seccomp'), '2');
      assert.deepEqual(status.get('Uid')?.split(/\s+/), Array(4).fill(String(SANDBOX_UID)), 'real, effective, saved and fs uid');
      assert.deepEqual(status.get('Gid')?.split(/\s+/), Array(4).fill(String(SANDBOX_GID)));
      assert.equal(status.get('Groups'), String(SANDBOX_GID), 'no supplementary group of the launcher is kept');
    });
  }

  it('setuid(0), setgid(0), setgroups and capset fail with EPERM', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'setuid0', 'setgid0', 'setgroups', 'capset'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    for (const probe of ['setuid0', 'setgid0', 'setgroups', 'capset']) assert.equal(errnos.get(probe), EPERM, `${probe}: ${describeRun(r)}`);
  });

  it('a setuid-root and a setgid-root binary in the image still run as the job user (nosuid + no_new_privs)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const whoami = await compileStatic('whoami');
    const image = await fx.buildImage({
      name: 'setuid-root',
      build: async (rootfs) => {
        for (const [name, source, mode] of [
          ['suid-whoami', whoami, 0o4755],
          ['sgid-whoami', whoami, 0o2755],
          ['busybox-suid', HOST_BUSYBOX, 0o6755],
        ] as const) {
          const path = join(rootfs, 'bin', name);
          await copyFile(source, path);
          await chown(path, 0, 0);
          await chmod(path, mode);
        }
      },
    });
    const r = await fx.runJob(['sh', '-c', 'stat -c "mode %n %a %u" /bin/suid-whoami /bin/sgid-whoami /bin/busybox-suid; echo suid; /bin/suid-whoami; echo sgid; /bin/sgid-whoami; echo "busybox $(/bin/busybox-suid id -u) $(/bin/busybox-suid id -g)"'], {
      image,
      wallTimeMs: 5000,
      cpuTimeMs: 2000,
    });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const out = r.stdout.toString();
    // The bits are really there in the sandbox: what stops them is the sandbox, not the image.
    assert.match(out, /^mode \/bin\/suid-whoami 4755 0$/m, describeRun(r));
    assert.match(out, /^mode \/bin\/sgid-whoami 2755 0$/m, describeRun(r));
    assert.match(out, /^mode \/bin\/busybox-suid 6755 0$/m, describeRun(r));
    const ids = [...out.matchAll(/^ids (.*)$/gm)].map((m) => m[1]);
    const nobody = `${SANDBOX_UID} ${SANDBOX_UID} ${SANDBOX_UID} ${SANDBOX_GID} ${SANDBOX_GID} ${SANDBOX_GID}`;
    assert.deepEqual(ids, [nobody, nobody], `ruid euid suid rgid egid sgid: ${describeRun(r)}`);
    assert.deepEqual([...out.matchAll(/^setuid0 (\d+)$/gm)].map((m) => Number(m[1])), [EPERM, EPERM]);
    assert.match(out, new RegExp(`^busybox ${SANDBOX_UID} ${SANDBOX_GID}$`, 'm'), describeRun(r));
  });

  it('a request file with setuid/setgid/sticky bits in its mode is placed without them', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['stat', '-c', '%a %u', 'suid-file'], {
      files: [{ path: 'suid-file', content: Buffer.from('#!/bin/sh\nid -u\n'), mode: 0o7755 }],
      wallTimeMs: 5000,
      cpuTimeMs: 2000,
    });
    assert.equal(r.verdict, 'ok', describeRun(r));
    assert.equal(r.stdout.toString(), `755 ${SANDBOX_UID}\n`);
  });

  it("every mount a job can write or exec from is nosuid, and nodev where it can hold files (a setuid file or device node is inert)", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['cat', '/proc/self/mountinfo'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const mounts = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => {
        const f = line.split(' ');
        return { point: f[4]!, options: f[5]!.split(',') };
      });
    assert.ok(mounts.length > 0);
    for (const m of mounts) {
      // The /proc masks are bind mounts of the sandbox's /dev/null: neither writable to any effect nor executable.
      if (m.point.startsWith('/proc/') && !m.options.includes('ro')) continue;
      assert.ok(m.options.includes('nosuid') || m.options.includes('ro'), `${m.point} is mounted ${m.options.join(',')}`);
    }
    for (const point of ['/', '/proc', '/dev', '/dev/shm']) {
      const options = mounts.find((m) => m.point === point)?.options ?? [];
      assert.ok(options.includes('nosuid'), `${point} must be nosuid`);
      // /dev holds its five device nodes (made there, as runc does): read-only, it can hold nothing else.
      if (point === '/dev') assert.ok(options.includes('ro'), `${point} must be read-only`);
      else assert.ok(options.includes('nodev'), `${point} must be nodev`);
    }
  });
});
