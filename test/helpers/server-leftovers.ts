/**
 * What a stopped (or killed) `warmbox server` may have left on the host, for the stop and crash
 * tests: processes of its sandbox uids, its sandbox cgroups (`w<pid>-N`), mounts under its data
 * directory, and processes that name the data directory (its launcher zygote and supervisors,
 * whose argv holds the socket path under it, and its private redis-server).
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setUpCgroups } from '../../runtime/cgroups.js';
import { processesOfUid, processesWith } from './sandbox-processes.js';

export interface ServerTraces {
  dataDir: string;
  pid: number;
  /** The sandbox uids the server was given (WARMBOX_SANDBOX_UID … + COUNT − 1). */
  uids: number[];
}

export function cgroupsOfWorker(pid: number): string[] {
  return setUpCgroups().parents.flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => n.startsWith(`w${pid}-`)) : []));
}

/** Every leftover, as a line saying what it is; empty when the host is clean. */
export function leftoversOf(t: ServerTraces): string[] {
  const left: string[] = [];
  const ofUids = t.uids.flatMap(processesOfUid);
  if (ofUids.length) left.push(`processes of the sandbox uids: ${ofUids.join(' ')}`);
  const cgroups = cgroupsOfWorker(t.pid);
  if (cgroups.length) left.push(`cgroups: ${cgroups.join(' ')}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(t.dataDir));
  if (mounts.length) left.push(`mounts: ${mounts.join(' | ')}`);
  const named = processesWith(t.dataDir).filter((pid) => !/^Z/.test(stateOf(pid)));
  if (named.length) left.push(`processes naming the data dir: ${named.map((p) => `${p} (${cmdline(p)})`).join(', ')}`);
  return left;
}

function stateOf(pid: number): string {
  try {
    return /^State:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 'Z';
  } catch {
    return 'Z';
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 120);
  } catch {
    return '?';
  }
}

/** Polls (bounded) until nothing is left; resolves with what is still there at the bound (empty: clean). */
export async function leftoversAfter(t: ServerTraces, boundMs: number): Promise<string[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const left = leftoversOf(t);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How the process ended, and how long after `since` (performance.now()). */
export async function exitOf(child: ChildProcess, since: number): Promise<{ code: number | null; signal: string | null; ms: number }> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return { code: child.exitCode, signal: child.signalCode, ms: Math.round(performance.now() - since) };
}
