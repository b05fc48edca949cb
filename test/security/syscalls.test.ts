/**
 * The kernel's attack surface, tried from inside a job: the system calls that container escapes
 * go through (nested namespaces, ptrace, io_uring, bpf, file handles, foreign ABIs) must fail with
 * the exact errno the seccomp filter or the kernel gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { ATTACK_TIMEOUT_MS, compileStatic, describeRun, parseErrnos, programFile, securitySuite, type SecuritySuite } from '../helpers/sandbox-fixture.js';
import { ERRNO, expectAsOnHost, expectRefused, withHighBits } from '../helpers/argument-probes.js';

const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
/** The foreign-ABI probes exist on x86_64 only. */
const X86_ONLY = process.arch === 'x64' ? false : 'i386 and x32 ABIs exist on x86_64 only';

/** Runs the syscalls program with the probes and checks each errno. */
async function expectErrnos(suite: SecuritySuite, expected: Record<string, number>): Promise<void> {
  const fx = await suite.fixture();
  const probes = Object.keys(expected);
  const r = await fx.runJob(['./syscalls', ...probes], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 5000, pids: 16 });
  assert.equal(r.verdict, 'ok', describeRun(r));
  const got = Object.fromEntries([...parseErrnos(r.stdout)].filter(([name]) => name in expected));
  assert.deepEqual(got, expected, `errno per probe (0 = the call succeeded): ${describeRun(r)}`);
}

/** What the probe's i386 write prints when the call ran. */
const INT80_MARKER = 'INT80-WRITE-RAN';

/**
 * What `int 0x80` does to a plain process on this host, outside any sandbox (the probe is an
 * i386 write to its own stdout: harmless anywhere): delivered, or a signal from the kernel itself.
 */
async function int80OnHost(): Promise<{ delivered: true } | { delivered: false; signal: string }> {
  const r = spawnSync(await compileStatic('syscalls'), ['int80_write'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0 && r.stdout.includes(INT80_MARKER)) return { delivered: true };
  if (r.signal) return { delivered: false, signal: r.signal };
  throw new Error(`int 0x80 on the host neither ran nor was killed by a signal: status ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
}

describe('security: system calls', () => {
  const suite = securitySuite('syscalls');

  it('ptrace cannot attach to the sandbox init or to the job\'s own child, and process_vm_readv is denied (EPERM)', { timeout: ATTACK_TIMEOUT_MS }, () =>
    expectErrnos(suite, {
      ptrace_init: EPERM,
      ptrace_child: EPERM,
      ptrace_traceme: EPERM,
      process_vm_readv_init: EPERM,
      process_vm_readv_child: EPERM,
    }));

  it("the init's memory, environment, fds, root and executable are closed to the job although it shares its uid (EACCES)", { timeout: ATTACK_TIMEOUT_MS }, () =>
    expectErrnos(suite, {
      'read:/proc/1/mem': EACCES,
      'read:/proc/1/environ': EACCES,
      'read:/proc/1/fd': EACCES,
      'read:/proc/1/root/': EACCES,
      'read:/proc/1/cwd/': EACCES,
      // The launcher binary on the host (runc CVE-2019-5736 overwrote it through this link).
      'read:/proc/1/exe': EACCES,
      'write:/proc/1/exe': EACCES,
    }));

  it('no nested namespaces: unshare, clone with namespace flags and setns give EPERM, clone3 ENOSYS; a plain clone works', { timeout: ATTACK_TIMEOUT_MS }, () =>
    expectErrnos(suite, {
      unshare_user: EPERM,
      unshare_mount: EPERM,
      clone_user: EPERM,
      clone_user_mount: EPERM,
      clone_net: EPERM,
      clone3_user_mount: ENOSYS,
      clone3_plain: ENOSYS,
      setns: EPERM,
      clone_plain: 0, // control: the probe program can clone at all
    }));

  it("clone's flags are an allow-list: each namespace flag gives EPERM, also with junk in the upper half; a fork's flags work", { timeout: ATTACK_TIMEOUT_MS }, () => {
    const namespaceFlags = { NEWNS: 0x20000, NEWCGROUP: 0x2000000, NEWUTS: 0x4000000, NEWIPC: 0x8000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000 };
    const refused = [...Object.values(namespaceFlags).map((f) => `clone:0x${f.toString(16)}`), `clone:${withHighBits(namespaceFlags.NEWUSER)}`];
    const forkFlags = 0x200 | 0x400 | 0x40000 | 0x80000000; // CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_IO
    return expectErrnos(suite, { ...Object.fromEntries(refused.map((p) => [p, EPERM])), [`clone:0x${forkFlags.toString(16)}`]: 0 });
  });

  // Arguments whose unknown values are refused (runtime/native/seccomp-gen-syscalls.c).
  it("personality takes Docker's values only: ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO and other execution domains give EPERM, also with junk in the upper half", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const ADDR_NO_RANDOMIZE = 0x40000;
    await expectRefused(await suite.fixture(), [
      `personality:0x${ADDR_NO_RANDOMIZE.toString(16)}`,
      `personality:${withHighBits(ADDR_NO_RANDOMIZE)}`,
      'personality:0x40008', // PER_LINUX32 | ADDR_NO_RANDOMIZE
      'personality:0x400000', // READ_IMPLIES_EXEC
      'personality:0x100000', // MMAP_PAGE_ZERO
      'personality:0x200000', // ADDR_COMPAT_LAYOUT
      'personality:0x6', // PER_BSD
      'personality:0x4000001', // PER_SVR4 without its page zero
    ], ERRNO.EPERM);
  });

  it('control: personality PER_LINUX, PER_LINUX32 (linux32), UNAME26 and the query 0xffffffff work as on the host', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const probes = ['personality:0', 'personality:0x8', 'personality:0x20000', 'personality:0x20008', 'personality:0xffffffff'];
    await expectAsOnHost(await suite.fixture(), probes, (probe, errno) => assert.equal(errno, 0, `${probe} on the host`));
  });

  it('prctl options outside the reviewed list give EINVAL, as on a kernel without them: PR_SET_MM, KSM merging, core scheduling, the futex hash, Yama, PR_SET_VMA, later options', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    await expectRefused(await suite.fixture(), [
      'prctl:35:1:0', // PR_SET_MM, PR_SET_MM_START_CODE
      'prctl:57:1', // PR_SET_IO_FLUSHER
      'prctl:62:0:0:0:p', // PR_SCHED_CORE, PR_SCHED_CORE_GET
      'prctl:67:0', // PR_SET_MEMORY_MERGE
      'prctl:68', // PR_GET_MEMORY_MERGE
      'prctl:77:0', // PR_TIMER_CREATE_RESTORE_IDS
      'prctl:78:2', // PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS
      'prctl:0x53564d41:0', // PR_SET_VMA
      'prctl:0x59616d61:0', // PR_SET_PTRACER
      'prctl:1000',
      'prctl:0x7fffffff',
    ], ERRNO.EINVAL);
  });

  it('control: the prctl options programs use work as on the host (PR_SET_NAME, PR_GET_NAME, PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_SET_PDEATHSIG, PR_GET_DUMPABLE, PR_CAPBSET_READ, PR_SET_CHILD_SUBREAPER)', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const probes = ['prctl:15:p', 'prctl:16:p', 'prctl:39', 'prctl:21', 'prctl:1:0', 'prctl:3', 'prctl:23:0', 'prctl:36:1'];
    await expectAsOnHost(await suite.fixture(), probes, (probe, errno) => assert.equal(errno, 0, `${probe} on the host`));
  });

  it('system calls newer than the reviewed table give ENOSYS; statmount, listmount, open_tree_attr, cachestat and set_mempolicy_home_node give EPERM', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    await expectRefused(fx, ['syscall:450', 'syscall:451', 'syscall:457', 'syscall:458', 'syscall:467'], EPERM);
    await expectRefused(fx, ['syscall:470', 'syscall:471', 'syscall:512', 'syscall:1023', 'syscall:0x3fffffff'], ENOSYS);
  });

  it('control: newer system calls within the reviewed table answer as on the host (fchmodat2, futex_wake, mseal, getxattrat)', { timeout: ATTACK_TIMEOUT_MS }, async () =>
    // Called with (-1, 0, ...): each fails on the host too, with the kernel's own errno.
    expectAsOnHost(await suite.fixture(), ['syscall:452', 'syscall:454', 'syscall:462', 'syscall:464']));

  it('io_uring, bpf, perf_event_open, keyctl, add_key, userfaultfd and open_by_handle_at are denied (EPERM)', { timeout: ATTACK_TIMEOUT_MS }, () =>
    expectErrnos(suite, {
      io_uring_setup: EPERM,
      bpf: EPERM,
      perf_event_open: EPERM,
      keyctl: EPERM,
      add_key: EPERM,
      userfaultfd: EPERM,
      open_by_handle_at: EPERM,
    }));

  it('kernel modules, kexec, reboot and the kernel log (syslog) are denied (EPERM)', { timeout: ATTACK_TIMEOUT_MS }, () =>
    expectErrnos(suite, { init_module: EPERM, kexec_load: EPERM, reboot: EPERM, syslog: EPERM }));

  it('no system call runs through the i386 ABI (int 0x80): the job dies with SIGSYS, or with the signal this host gives any process, and the call has no effect', { timeout: ATTACK_TIMEOUT_MS, skip: X86_ONLY }, async () => {
    const host = await int80OnHost();
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'int80_write'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    assert.ok(!r.stdout.includes(INT80_MARKER), `the i386 write ran inside the sandbox: ${describeRun(r)}`);
    assert.equal(r.verdict, 'signaled', describeRun(r));
    // A kernel that does not deliver int 0x80 at all (a PVM guest) kills every process with
    // SIGSEGV before seccomp sees the call; anywhere else the filter must be what stops it.
    const allowed = host.delivered ? ['SIGSYS'] : ['SIGSYS', host.signal];
    assert.ok(allowed.includes(r.signal ?? ''), `signal ${r.signal}, expected one of ${allowed.join(', ')} (on the host, int 0x80 ${host.delivered ? 'works' : `gives ${host.signal}`}): ${describeRun(r)}`);
  });

  it('a system call through the x32 ABI kills the job with SIGSYS', { timeout: ATTACK_TIMEOUT_MS, skip: X86_ONLY }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['./syscalls', 'x32_getpid'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'signaled', describeRun(r));
    assert.equal(r.signal, 'SIGSYS', describeRun(r));
  });
});
