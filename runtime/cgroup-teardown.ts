/**
 * Ends a sandbox's cgroup for good: kills every process in it, then removes it, waiting out the
 * moment a cgroup stays busy after SIGKILL (rmdir answers EBUSY until its processes have exited).
 * A supervisor does this for its own sandbox (native/cgroup-v1.c, -v2.c); the worker does it when
 * a supervisor died without doing it, and at start for sandboxes of workers that died
 * (crun's destroy: kill, then remove, and wait).
 */
import { readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupPlacement } from './launcher-protocol.js';

/** How long a teardown keeps at it: processes stuck in the kernel for longer are reported, not waited for. */
export const CGROUP_TEARDOWN_TIMEOUT_MS = 10_000;
const RETRY_MS = 10;

/** The sandbox's cgroup directories: one per v1 hierarchy, or its one v2 directory. */
export function cgroupDirsOf(placement: CgroupPlacement): string[] {
  switch (placement.version) {
    case 'v1':
      // cpu and cpuacct may be one hierarchy: its directory is removed once.
      return [...new Set([placement.memory, placement.pids, placement.cpuacct, placement.cpu].map(resolvedOrSelf))];
    case 'v2':
      return [placement.unified];
    case 'none':
      return [];
  }
}

/** A cgroup directory a teardown could not remove, and why. */
export interface CgroupLeft {
  dir: string;
  why: string;
}

/** Kills and removes every directory; resolves with those it could not remove. */
export async function killAndRemoveCgroups(dirs: string[], timeoutMs = CGROUP_TEARDOWN_TIMEOUT_MS): Promise<CgroupLeft[]> {
  const outcomes = await Promise.all(
    dirs.map(async (dir): Promise<CgroupLeft | undefined> => {
      try {
        return (await killAndRemoveCgroup(dir, timeoutMs)) ? undefined : { dir, why: `processes still in it after ${timeoutMs} ms` };
      } catch (e) {
        return { dir, why: (e as Error).message };
      }
    }),
  );
  return outcomes.filter((o): o is CgroupLeft => o !== undefined);
}

/** True once the directory is gone (or never was); false if it is still there after timeoutMs. */
export async function killAndRemoveCgroup(dir: string, timeoutMs = CGROUP_TEARDOWN_TIMEOUT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const procs = processesIn(dir);
    if (procs === undefined) return true;
    if (procs.length > 0) killAll(dir, procs);
    else if (removed(dir)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(RETRY_MS);
  }
}

/**
 * The same teardown, synchronously: for a process that must exit now (a second SIGTERM during a
 * stop) and may not return to its event loop. Sleeps between rounds block the thread; bounded by
 * timeoutMs for all the directories together.
 */
export function killAndRemoveCgroupsNow(dirs: string[], timeoutMs = CGROUP_TEARDOWN_TIMEOUT_MS): CgroupLeft[] {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(dirs);
  const left: CgroupLeft[] = [];
  while (pending.size > 0) {
    for (const dir of pending) {
      try {
        const procs = processesIn(dir);
        if (procs === undefined) pending.delete(dir);
        else if (procs.length > 0) killAll(dir, procs);
        else if (removed(dir)) pending.delete(dir);
      } catch (e) {
        pending.delete(dir);
        left.push({ dir, why: (e as Error).message });
      }
    }
    if (pending.size === 0) break;
    if (Date.now() >= deadline) return [...left, ...[...pending].map((dir) => ({ dir, why: `processes still in it after ${timeoutMs} ms` }))];
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS);
  }
  return left;
}

/** The pids in the cgroup, or undefined when the directory is gone. */
function processesIn(dir: string): number[] | undefined {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * cgroup v2's cgroup.kill (Linux 5.14) kills every process of the cgroup at once, forks in flight
 * included. Elsewhere (v1, whose sandbox hierarchies have no freezer, or an older v2) each listed
 * process gets SIGKILL and the caller reads the list again until it is empty: a process forked
 * after the read is in the next one, and a process with a fatal signal pending forks no more.
 * (Between the read and the kill a listed process could exit, be reaped and its pid be taken by
 * another: a window of microseconds against a cycle through the whole pid space.)
 */
function killAll(dir: string, procs: number[]): void {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
    return;
  } catch {
    // No cgroup.kill here: one by one.
  }
  for (const pid of procs) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
}

/** rmdir; false while the cgroup is still busy with processes that are exiting. */
function removed(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY') return false;
    throw e;
  }
}

/**
 * A sandbox's cgroup directory with its hierarchy's links resolved (cpu → cpu,cpuacct); as given when its parent is gone.
 * The parents are the worker's few group directories: each is resolved once (realpath is an lstat per path element).
 */
function resolvedOrSelf(dir: string): string {
  const parent = dirname(dir);
  let real = resolvedParents.get(parent);
  if (real === undefined) {
    try {
      real = realpathSync(parent);
    } catch {
      return dir;
    }
    resolvedParents.set(parent, real);
  }
  return join(real, basename(dir));
}

const resolvedParents = new Map<string, string>();
