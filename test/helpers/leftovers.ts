/**
 * What a stopped or killed warmbox left on the host: processes (its launcher, its private Redis,
 * its jobs), sandbox cgroups of its workers, and mounts under its data directory. A fault test
 * collects this after the last server has stopped; all of it must be empty.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { setUpCgroups } from '../../runtime/cgroups.js';
import { processesWith } from './sandbox-processes.js';

export interface LeftoverScope {
  dataDir: string;
  /** Pids of every worker process that ran (a worker's sandbox cgroups are named `w<pid>-<n>`). */
  workerPids: readonly number[];
  /** A string in the argv of every job the test ran. */
  jobMarker: string;
}

export function leftovers(scope: LeftoverScope): string[] {
  const found: string[] = [];
  for (const pid of new Set([...processesWith(scope.dataDir), ...processesWith(scope.jobMarker)])) found.push(`process ${pid}: ${cmdline(pid)}`);
  for (const parent of setUpCgroups().parents) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      if (scope.workerPids.some((pid) => name.startsWith(`w${pid}-`))) found.push(`cgroup ${parent}/${name}`);
    }
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint?.startsWith(scope.dataDir)) found.push(`mount ${mountPoint}`);
  }
  return found;
}

/** Leftovers once they have had boundMs to go (killed processes take a moment to be reaped). */
export async function leftoversAfter(scope: LeftoverScope, boundMs = 30_000): Promise<string[]> {
  let found = leftovers(scope);
  for (const deadline = Date.now() + boundMs; found.length > 0 && Date.now() < deadline; await sleep(200)) found = leftovers(scope);
  return found;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}
