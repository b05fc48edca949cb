/**
 * A sandbox's life: what a job leaves behind must die with it, a job cannot reach other sandboxes'
 * processes or the host's, and nothing of one job survives into the next (single-use sandboxes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { RunResult } from '../../runtime/sandbox.js';
import {
  ATTACK_TIMEOUT_MS,
  describeRun,
  hostProcessesWith,
  parseErrnos,
  programFile,
  SANDBOX_GID,
  SANDBOX_UID,
  securitySuite,
} from '../helpers/sandbox-fixture.js';
import { DAEMON_JOB, eventually, killLeftovers, leftoversOf, processesInNamespace, untilNothingLeft, waitForSandboxOf, within, type SandboxChain } from '../helpers/sandbox-processes.js';

describe('security: sandbox lifecycle', () => {
  const suite = securitySuite('lifecycle');

  it('a daemon the job leaves behind (setsid, double fork) dies with the sandbox, and so does its cgroup', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const marker = `warmbox-daemon-${randomBytes(6).toString('hex')}`;
    // The daemon's shell carries the marker as its $0 and says when it is up; the job waits for
    // that (bounded), prints its pid namespace and the daemon's session, and exits.
    const script = [
      'setsid sh -c \'echo $$ > /tmp/daemon.pid; sleep 1000 & sleep 1000; wait\' "$1" </dev/null >/dev/null 2>&1 &',
      'i=0; while [ ! -s /tmp/daemon.pid ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done',
      'd=$(cat /tmp/daemon.pid)',
      'echo "ns $(readlink /proc/self/ns/pid)"',
      'echo "daemon_session $(cut -d" " -f6 /proc/$d/stat)"',
      'echo "job_session $(cut -d" " -f6 /proc/$$/stat)"',
    ].join('\n');
    const r = await fx.runJob(['sh', '-c', script, 'job', marker], { wallTimeMs: 10_000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    const out = r.stdout.toString();
    const pidNs = /^ns (pid:\[\d+\])$/m.exec(out)?.[1] ?? '';
    const daemonSession = /^daemon_session (\d+)$/m.exec(out)?.[1];
    const jobSession = /^job_session (\d+)$/m.exec(out)?.[1];
    assert.match(pidNs, /^pid:\[\d+\]$/, describeRun(r));
    assert.ok(daemonSession && jobSession && daemonSession !== jobSession, `the daemon must have been up in a session of its own: ${describeRun(r)}`);

    assert.deepEqual(hostProcessesWith(marker), [], `a process with ${marker} in its command line outlived the sandbox`);
    assert.deepEqual(processesInNamespace(pidNs), [], `processes of the sandbox's pid namespace ${pidNs} outlived it`);
    assert.deepEqual(fx.leftoverCgroups(), [], 'the sandbox cgroups must be removed when it is closed');
  });

  it('kill -9 -1 in a job kills only its own processes: not a parked sandbox, not a running one, not a host process of the same uid', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    // A host process running as the very uid the jobs run as: only the pid namespace protects it.
    const hostVictim = spawn('sleep', ['1000'], { uid: SANDBOX_UID, gid: SANDBOX_GID, stdio: 'ignore' });
    let hostVictimExit: string | undefined;
    hostVictim.once('exit', (code, signal) => (hostVictimExit = `exit ${code} signal ${signal}`));
    try {
      const parked = await fx.createSandbox();
      const running = await fx.createSandbox();
      const attacker = await fx.createSandbox();

      let runningSettled = false;
      const runningJob = fx.runIn(running, ['sh', '-c', 'sleep 3; echo still alive'], { wallTimeMs: 20_000, cpuTimeMs: 2000 });
      void runningJob.finally(() => (runningSettled = true)).catch(() => {});

      const attack = await fx.runIn(attacker, ['sh', '-c', 'sleep 100 & kill -9 -1; echo "kill returned $?"'], { wallTimeMs: 10_000, cpuTimeMs: 2000 });
      assert.equal(attack.verdict, 'ok', describeRun(attack));
      assert.equal(attack.stdout.toString(), 'kill returned 0\n', 'the attack must have killed something (its own sleep)');
      assert.equal(runningSettled, false, 'inconclusive: the running job ended before the attack was over');

      const survivor = await runningJob;
      assert.equal(survivor.verdict, 'ok', `the concurrently running job was hit: ${describeRun(survivor)}`);
      assert.equal(survivor.stdout.toString(), 'still alive\n');

      const later = await fx.runIn(parked, ['echo', 'parked sandbox alive'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
      assert.equal(later.verdict, 'ok', `the parked sandbox was hit: ${describeRun(later)}`);
      assert.equal(later.stdout.toString(), 'parked sandbox alive\n');

      assert.equal(hostVictimExit, undefined, `the host process of uid ${SANDBOX_UID} was killed`);
      assert.doesNotThrow(() => process.kill(hostVictim.pid!, 0));
    } finally {
      hostVictim.kill('SIGKILL');
    }
  });

  it("the job cannot stop or kill its sandbox's init: the init survives to report the job's exit", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const r = await fx.runJob(['sh', '-c', 'kill -STOP 1; kill -KILL 1; kill -TERM 1; kill -INT 1; kill -HUP 1; sleep 0.1; echo survived'], { wallTimeMs: 10_000, cpuTimeMs: 2000 });
    assert.equal(r.verdict, 'ok', describeRun(r));
    assert.equal(r.launcher.status, 'exited', describeRun(r));
    assert.equal(r.stdout.toString(), 'survived\n');
  });

  it('a file written by one job does not exist in the next sandbox of the same image', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const first = await fx.runJob(['sh', '-c', 'echo planted > /tmp/planted && echo planted > /planted && cp /bin/busybox /tmp/suid && chmod 6755 /tmp/suid && echo done'], {
      wallTimeMs: 5000,
      cpuTimeMs: 2000,
    });
    assert.equal(first.stdout.toString(), 'done\n', describeRun(first));
    const next = await fx.runJob(['sh', '-c', 'ls /tmp/planted /planted /tmp/suid 2>&1; true'], { wallTimeMs: 5000, cpuTimeMs: 2000 });
    assert.equal(next.verdict, 'ok', describeRun(next));
    for (const path of ['/tmp/planted', '/planted', '/tmp/suid']) {
      assert.match(next.stdout.toString(), new RegExp(`${path}: No such file or directory`), describeRun(next));
    }
  });

  it('a sandbox runs one command only', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const sandbox = await fx.createSandbox();
    const first = await fx.runIn(sandbox, ['true'], { wallTimeMs: 5000 });
    assert.equal(first.verdict, 'ok', describeRun(first));
    await assert.rejects(fx.runIn(sandbox, ['true'], { wallTimeMs: 5000 }), /one command only/);
  });

  it('a parked sandbox destroyed unused, and every sandbox of this suite, leave no cgroup and no mount behind', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const sandbox = await fx.createSandbox();
    await sandbox.destroy();
    assert.deepEqual(fx.leftoverCgroups(), []);
    assert.deepEqual(readdirSync(fx.mountDir), []);
    const leaked = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(fx.dataDir));
    assert.deepEqual(leaked, [], "a sandbox mount propagated into the host's mount namespace");
  });
});

describe('security: concurrent sandboxes with a uid range (WARMBOX_SANDBOX_UID_COUNT > 1)', () => {
  const FIRST_UID = 200_000;
  const suite = securitySuite('uid-range', { uid: FIRST_UID, uidCount: 4 });
  const EMFILE = 24;

  it('a job that takes every inotify instance of its uid (a per-uid kernel quota) does not starve a concurrent job', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const hog = await fx.createSandbox();
    const victim = await fx.createSandbox();
    const cancel = new AbortController();
    let hogOutput = '';
    let hogReady!: () => void;
    const ready = new Promise<void>((resolve) => (hogReady = resolve));
    const hogJob = fx.runIn(hog, ['sh', '-c', 'echo "uid $(id -u)"; exec ./fill inotify'], {
      files: [await programFile('fill')],
      wallTimeMs: 20_000,
      cpuTimeMs: 5000,
      signal: cancel.signal,
      onStdout: (chunk) => {
        hogOutput += chunk.toString();
        if (/^inotify_errno \d+$/m.test(hogOutput)) hogReady();
      },
    });
    try {
      await Promise.race([ready, hogJob.then((r) => assert.fail(`the hog ended before taking the quota: ${describeRun(r)}`))]);
      const taken = parseErrnos(hogOutput);
      assert.equal(taken.get('inotify_errno'), EMFILE, `the hog must have exhausted its uid's quota: ${hogOutput}`);

      const r = await fx.runIn(victim, ['sh', '-c', 'echo "uid $(id -u)"; ./syscalls inotify_init'], { files: [await programFile('syscalls')], wallTimeMs: 10_000, cpuTimeMs: 2000 });
      const hogUid = /^uid (\d+)$/m.exec(hogOutput)?.[1];
      const victimUid = /^uid (\d+)$/m.exec(r.stdout.toString())?.[1];
      assert.ok(hogUid && victimUid && hogUid !== victimUid, `concurrent sandboxes must get different uids: ${hogUid} and ${victimUid}`);
      assert.ok(Number(hogUid) >= FIRST_UID && Number(victimUid) >= FIRST_UID);
      assert.equal(parseErrnos(r.stdout).get('inotify_init'), 0, `the concurrent job was starved: ${describeRun(r)}`);
    } finally {
      cancel.abort();
      const ended = await hogJob.catch(() => undefined); // a failed assertion above is the news, not this
      if (ended) assert.equal(ended.verdict, 'cancelled', describeRun(ended));
    }
  });
});

describe('security: a sandbox dies with any process of its chain (zygote → supervisor → init)', () => {
  const FIRST_UID = 210_000; // a range of this suite's own: any process left of that uid is a leftover of ours
  const suite = securitySuite('chain', { uid: FIRST_UID, uidCount: 2 });
  /** Far above the wait below: a job still running when it ends was not stopped by the kill. */
  const WALL_MS = 300_000;
  const BOUND_MS = 30_000;

  /** What the runtime says of the killed job, for each process killed. */
  const expected = {
    supervisor: (outcome: RunResult | Error) => {
      assert.ok(outcome instanceof Error, `the run must fail, not report a result: ${outcome instanceof Error ? '' : describeRun(outcome)}`);
      assert.match(outcome.message, /the sandbox's supervisor died/);
    },
    init: (outcome: RunResult | Error) => {
      assert.ok(!(outcome instanceof Error), `the supervisor reports the job: ${String(outcome)}`);
      assert.equal(outcome.verdict, 'internal_error', describeRun(outcome));
      assert.match(outcome.error ?? '', /the sandbox's init died/, describeRun(outcome));
    },
    zygote: (outcome: RunResult | Error) => {
      assert.ok(outcome instanceof Error, `the run must fail, not report a result: ${outcome instanceof Error ? '' : describeRun(outcome)}`);
      assert.match(outcome.message, /the launcher zygote died/);
    },
  };

  for (const target of ['supervisor', 'init', 'zygote'] as const) {
    it(`SIGKILL to the ${target} while a job and its daemon run: every process, cgroup, namespace and the uid are gone, the run says why, the next job runs`, { timeout: ATTACK_TIMEOUT_MS * 2 }, async () => {
      const fx = await suite.fixture();
      const marker = `warmbox-chain-${target}-${randomBytes(6).toString('hex')}`;
      const job = fx.runJob(['sh', '-c', DAEMON_JOB, marker], { wallTimeMs: WALL_MS });
      const outcome = job.catch((err: Error) => err);
      let chain: SandboxChain | undefined;
      try {
        chain = await waitForSandboxOf(marker, fx.runtime.cgroups.parents, job);
        assert.ok(chain.uid >= FIRST_UID, `the job runs as ${chain.uid}, outside the suite's range`);
        process.kill(chain[target], 'SIGKILL');

        expected[target](await within(outcome, BOUND_MS, `the run after the ${target} was killed`));
        await untilNothingLeft(chain, { mountPath: fx.dataDir, uidIsPrivate: true }, BOUND_MS);
        // The uid goes back to the range only once nothing of the sandbox runs any more.
        await eventually(() => fx.runtime.uidsInUse === 0, 'the sandbox uid is given back', BOUND_MS);
        assert.deepEqual(leftoversOf(chain, { mountPath: fx.dataDir, uidIsPrivate: true }), []);
        assert.deepEqual(fx.leftoverCgroups(), []);
      } finally {
        if (chain) killLeftovers(chain);
        await outcome;
      }
      const next = await fx.runJob(['echo', 'next'], { wallTimeMs: 10_000 });
      assert.equal(next.verdict, 'ok', describeRun(next));
      assert.equal(next.stdout.toString(), 'next\n');
    });
  }
});
