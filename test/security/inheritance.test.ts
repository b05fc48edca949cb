/**
 * What a job could inherit from the worker: its environment (Judge0 #564), its file descriptors
 * (runc CVE-2024-21626 went through a leaked fd), its terminal (TIOCSTI, bubblewrap CVE-2017-5226).
 * None of it may reach the job.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envOf } from '../../worker/job-command.js';
import { ATTACK_TIMEOUT_MS, describeRun, parseErrnos, programFile, securitySuite } from '../helpers/sandbox-fixture.js';

const EPERM = 1;
const ENOENT = 2;

const SECRET_NAME = 'WARMBOX_SECURITY_TEST_SECRET';
const SECRET_VALUE = `host-secret-${process.pid}`;

/** Runs fn with variables set in the test process's (the "worker's") environment, then restores it. */
async function withWorkerEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Direct children of pid (from /proc/<pid>/task/<pid>/children or a scan of stat files). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    });
}

describe('security: what a job inherits', () => {
  const suite = securitySuite('inheritance');

  it("the job's environment is exactly what the request gives, never the worker's", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    await withWorkerEnv({ [SECRET_NAME]: SECRET_VALUE }, async () => {
      const env = envOf({ env: { GIVEN: 'by the request' } }, fx.busybox.config);
      const r = await fx.runJob(['env'], { env, wallTimeMs: 5000, cpuTimeMs: 2000 });
      assert.equal(r.verdict, 'ok', describeRun(r));
      const seen = r.stdout.toString().trim().split('\n').sort();
      assert.deepEqual(seen, [...env].sort());
      assert.deepEqual(seen.map((e) => e.split('=')[0]).sort(), ['GIVEN', 'HOME', 'HOSTNAME', 'PATH']);
      assert.doesNotMatch(r.stdout.toString(), new RegExp(SECRET_VALUE));
    });
  });

  it("an image's Env that names a worker secret gives the image's value, never the worker's", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const image = await fx.buildImage({
      name: 'env-names-secrets',
      config: { Env: ['PATH=/bin', `${SECRET_NAME}=image-value`, 'REDIS_URL=image-redis', 'WARMBOX_DATA='], Cmd: ['env'] },
    });
    await withWorkerEnv({ [SECRET_NAME]: SECRET_VALUE, REDIS_URL: 'redis://host-secret', WARMBOX_DATA: '/host-secret' }, async () => {
      const r = await fx.runJob(['env'], { image, env: envOf({ env: {} }, image.config), wallTimeMs: 5000, cpuTimeMs: 2000 });
      const out = r.stdout.toString();
      assert.match(out, new RegExp(`^${SECRET_NAME}=image-value$`, 'm'), describeRun(r));
      assert.match(out, /^REDIS_URL=image-redis$/m);
      assert.match(out, /^WARMBOX_DATA=$/m);
      assert.doesNotMatch(out, new RegExp(SECRET_VALUE));
      assert.doesNotMatch(out, /host-secret/);
    });
  });

  it("the sandbox init's environment is closed to the job (EACCES)", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'read:/proc/1/environ'], { files: [await programFile('syscalls')], wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(parseErrnos(r.stdout).get('read:/proc/1/environ'), 13, describeRun(r));
  });

  it('no fd of the worker reaches the job: it has only 0, 1 and 2 (plus the one ls opens to list them)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const marker = join(fx.dataDir, 'worker-secret-fd');
    writeFileSync(marker, 'worker secret\n');
    const extra = openSync(marker, 'r'); // one more open fd in the worker (it has many anyway)
    try {
      const listing = await fx.runJob(['ls', '/proc/self/fd'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
      assert.equal(listing.verdict, 'ok', describeRun(listing));
      assert.deepEqual(listing.stdout.toString().trim().split(/\s+/).sort(), ['0', '1', '2', '3']);

      const targets = await fx.runJob(['sh', '-c', 'for fd in 0 1 2; do echo "$fd $(readlink /proc/$$/fd/$fd)"; done; ls /proc/$$/fd | tr "\\n" " "'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
      const out = targets.stdout.toString();
      for (const fd of [0, 1, 2]) assert.match(out, new RegExp(`^${fd} (pipe|socket):\\[\\d+\\]$`, 'm'), describeRun(targets));
      assert.doesNotMatch(out, /worker-secret-fd/);
    } finally {
      closeSync(extra);
    }
  });

  it("the launcher processes on the host hold none of the worker's fds or environment", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const marker = join(fx.dataDir, 'worker-secret-fd-2');
    writeFileSync(marker, 'worker secret\n');
    const extra = openSync(marker, 'r');
    // The zygote was started before this test; a sandbox made now is forked from it after the
    // worker's environment got the secret: neither may have it.
    const sandbox = await withWorkerEnv({ [SECRET_NAME]: SECRET_VALUE }, () => fx.createSandbox()); // parked: its supervisor and init exist now
    try {
      const launchers = new Set<number>();
      const walk = (pid: number): void => {
        for (const child of childrenOf(pid)) {
          launchers.add(child);
          walk(child);
        }
      };
      walk(process.pid);
      const ours = [...launchers].filter((p) => {
        try {
          return readlinkSync(`/proc/${p}/exe`).endsWith('warmbox-launcher');
        } catch {
          return false;
        }
      });
      assert.ok(ours.length >= 2, `found the zygote and the parked sandbox's supervisor among ${[...launchers].join(',')}`);
      for (const pid of ours) {
        const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        });
        assert.ok(!fds.some((t) => t.includes('worker-secret-fd')), `launcher ${pid} holds the worker's fd: ${fds.join(' ')}`);
        assert.ok(fds.length <= 16, `launcher ${pid} holds ${fds.length} fds: ${fds.join(' ')}`);
        assert.doesNotMatch(readFileSync(`/proc/${pid}/environ`, 'utf8'), new RegExp(SECRET_NAME), `launcher ${pid} got the worker's environment`);
      }
    } finally {
      closeSync(extra);
      await sandbox.destroy();
    }
  });

  it('TIOCSTI, TIOCLINUX and TIOCSETD are denied (EPERM), also with junk in the upper 32 bits of the request', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const probes = ['tiocsti', 'tiocsti_high_bits', 'tioclinux', 'tiocsetd'];
    const r = await fx.runJob(['./syscalls', ...probes], { files: [await programFile('syscalls')], wallTimeMs: 5000, cpuTimeMs: 2000 });
    const errnos = parseErrnos(r.stdout);
    for (const probe of probes) assert.equal(errnos.get(probe), EPERM, `${probe}: ${describeRun(r)}`);
  });

  it('the job has no controlling terminal: /dev/tty cannot be opened, tty_nr is 0, and it leads its own session', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', './syscalls read:/dev/tty read:/dev/console; cat /proc/self/stat; echo; echo "pid $$"'], {
      files: [await programFile('syscalls')],
      wallTimeMs: 5000,
      cpuTimeMs: 2000,
    });
    const out = r.stdout.toString();
    const errnos = parseErrnos(out);
    assert.equal(errnos.get('read:/dev/tty'), ENOENT, describeRun(r));
    assert.equal(errnos.get('read:/dev/console'), ENOENT, describeRun(r));
    const stat = out.split('\n').find((l) => /^\d+ \(cat\)/.test(l)) ?? '';
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp session tty_nr ...
    assert.equal(fields[4], '0', `tty_nr of the job: ${stat}`);
    assert.equal(fields[3], /^pid (\d+)$/m.exec(out)?.[1], `the job's shell leads the session: ${stat}`);
  });
});
