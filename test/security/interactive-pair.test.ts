/**
 * An interactive pair (runtime/sandbox-pair.ts): a solution and an interactor at once, each in its
 * own sandbox, talking through their stdin and stdout. The solution is hostile: it must not see,
 * signal or reach the interactor's processes, nor hold anything of the other sandbox but its own
 * pipe ends. Both sandboxes here run as the same uid (a worker with one sandbox uid): only the
 * namespaces keep them apart, and that is what is attacked.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { runPair, type PairRequest } from '../../runtime/sandbox-pair.js';
import type { RunResult } from '../../runtime/sandbox.js';
import { envOf } from '../../worker/job-command.js';
import { processesWith } from '../helpers/sandbox-processes.js';
import { ATTACK_TIMEOUT_MS, describeRun, type SandboxFixture, securitySuite } from '../helpers/sandbox-fixture.js';

/** What a side says about itself on stderr: its namespaces and its uid. */
const IDENTITY = 'echo "pid $(readlink /proc/self/ns/pid) mnt $(readlink /proc/self/ns/mnt) uid $(id -u)" >&2';
/**
 * A side's fds, as a child (ls) that inherited them without any redirection sees them, sent to the
 * other side (a redirection, a glob or a $(…) of the shell's own would add fds of its own).
 */
const SEND_FDS = 'ls -l /proc/self/fd; echo end';
/** The other side's fds, received and written to stderr as `peer …` lines. */
const RECEIVE_FDS = 'while read l; do [ "$l" = end ] && break; echo "peer $l" >&2; done';

async function pair(fx: SandboxFixture, solution: string, interactor: string, marker: string): Promise<[RunResult, RunResult]> {
  const side = (script: string, name: string): PairRequest => ({
    ...DEFAULT_LIMITS,
    wallTimeMs: 40_000,
    cpuTimeMs: 30_000,
    argv: ['sh', '-c', script, `${marker}-${name}`],
    env: envOf({ env: {} }, fx.busybox.config),
    files: [],
  });
  const [a, b] = [await fx.createSandbox(), await fx.createSandbox()];
  try {
    return await runPair(a, side(solution, 'solution'), b, side(interactor, 'interactor'));
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
}

/** `key value` lines of a side's stderr. */
function said(r: RunResult, key: string): string[] {
  return r.stderr.toString().split('\n').filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
}

describe('security: an interactive pair', () => {
  const suite = securitySuite('interactive-pair');

  it('runs each side in fresh namespaces of its own as an unprivileged user, holding only its own pipe ends', { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const [solution, interactor] = await pair(fx, `${IDENTITY}; ${SEND_FDS}; ${RECEIVE_FDS}`, `${RECEIVE_FDS}; ${IDENTITY}; ${SEND_FDS}`, `identity-${process.pid}`);
    assert.equal(solution.verdict, 'ok', describeRun(solution));
    assert.equal(interactor.verdict, 'ok', describeRun(interactor));
    const [s, i] = [said(solution, 'pid')[0]!.split(' '), said(interactor, 'pid')[0]!.split(' ')];
    assert.notEqual(s[0], readlinkSync('/proc/self/ns/pid'), 'the solution shares the host pid namespace');
    assert.notEqual(s[2], readlinkSync('/proc/self/ns/mnt'), 'the solution shares the host mount namespace');
    assert.notEqual(s[0], i[0], 'the two sides share a pid namespace');
    assert.notEqual(s[2], i[2], 'the two sides share a mount namespace');
    assert.notEqual(s[4], '0');
    assert.notEqual(i[4], '0');
    // Each side holds stdin, stdout and stderr, all pipes, and nothing else (ls's own look at /proc aside); no pipe is the other side's.
    const fds = (peer: RunResult) =>
      Object.fromEntries(
        said(peer, 'peer')
          .map((l) => /(\d+) -> (.*)$/.exec(l))
          .filter((m) => m !== null && !m[2]!.startsWith('/proc/'))
          .map((m) => [m![1]!, m![2]!]),
      );
    const [sf, inf] = [fds(interactor), fds(solution)];
    assert.deepEqual(Object.keys(sf).sort(), ['0', '1', '2'], JSON.stringify(sf));
    assert.deepEqual(Object.keys(inf).sort(), ['0', '1', '2'], JSON.stringify(inf));
    for (const target of [...Object.values(sf), ...Object.values(inf)]) assert.match(target, /^pipe:\[\d+\]$/);
    const shared = Object.values(sf).filter((p) => Object.values(inf).includes(p));
    assert.deepEqual(shared, [], 'a pipe is held by both sides');
  });

  it("cannot see or signal the interactor's processes, though both run as the same uid", { timeout: ATTACK_TIMEOUT_MS }, async () => {
    const fx = await suite.fixture();
    const marker = `signal-${process.pid}-${Date.now()}`;
    // The attack: look through /proc for the interactor, SIGKILL everything it may (kill -1), then every pid the host can have
    // (the host's pid_max: a sandbox's /proc/sys shows another).
    const hostPidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    // The marker is put together at run time: the solution's own command line must not contain it.
    const solution = [
      'read ready',
      `m="${marker}-inter"; m="\${m}actor"`,
      'seen=0; for c in /proc/[0-9]*/cmdline; do case "$(cat "$c" 2>/dev/null | tr "\\0" " ")" in *"$m"*) seen=$((seen + 1));; esac; done; echo "seen $seen" >&2',
      'kill -9 -1 2>/dev/null',
      // In slices: one $(…) of 32768 numbers takes ash seconds of CPU.
      `s=2; max=${hostPidMax}; while [ $s -le $max ]; do kill -9 $(seq $s $((s + 999)) | grep -vx "$$") 2>/dev/null; s=$((s + 1000)); done`,
      'echo done',
      'read reply; echo "reply $reply" >&2',
    ].join('\n');
    const interactor = 'echo ready; read line; echo "alive" >&2; echo still-here';
    let interactorHostPids: number[] = [];
    const watch = setInterval(() => {
      const found = processesWith(`${marker}-interactor`);
      if (found.length) interactorHostPids = found;
    }, 20);
    let results: [RunResult, RunResult];
    try {
      results = await pair(fx, solution, interactor, marker);
    } finally {
      clearInterval(watch);
    }
    const [s, i] = results;
    assert.ok(interactorHostPids.length > 0, 'the interactor was seen running on the host (the attack had a target)');
    assert.deepEqual(said(s, 'seen'), ['0'], describeRun(s));
    assert.equal(i.verdict, 'ok', `the interactor did not survive the attack: ${describeRun(i)}; the solution: ${describeRun(s)}`);
    assert.match(i.stderr.toString(), /^alive$/m);
    assert.deepEqual(said(s, 'reply'), ['still-here'], describeRun(s));
  });
});
