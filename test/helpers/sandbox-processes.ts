/**
 * What the host sees of one running sandbox, for tests that kill a process of its chain
 * (worker → zygote → supervisor → init → job) and then prove that nothing of it is left: no
 * process, no cgroup, no namespace (and so no mount), no process of its uid.
 *
 *   const chain = await waitForSandboxOf(marker, cgroupParents);
 *   process.kill(chain.supervisor, 'SIGKILL');
 *   await untilNothingLeft(chain, { mountPath: dataDir });
 *
 * Jobs are found by a marker in their argv (`DAEMON_JOB`), so a test only ever sees and kills
 * processes it started.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A job that leaves a daemon (own session, stdio closed) and sleeps; run as
 * `['sh', '-c', DAEMON_JOB, marker]`: both shells carry the marker in their argv.
 */
export const DAEMON_JOB = `setsid sh -c 'sleep 1000; :' "$0" </dev/null >/dev/null 2>&1 & sleep 1000; :`;

/** A process by pid and start time: a pid alone may have been reused by the time it is checked. */
export interface ProcessRef {
  pid: number;
  start: string;
}

export interface SandboxChain {
  /** Host pids. */
  zygote: number;
  supervisor: number;
  init: number;
  supervisorRef: ProcessRef;
  /** `pid:[N]` and `mnt:[N]`: the sandbox's namespaces (its mounts live and die with the latter). */
  pidNs: string;
  mntNs: string;
  /** The sandbox's cgroup directories, one per hierarchy. */
  cgroupDirs: string[];
  /** Every process of the sandbox when the chain was read (its cgroups' and its pid namespace's). */
  processes: ProcessRef[];
  /** The uid the job runs as. */
  uid: number;
}

function pidsOfProc(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function statusField(pid: number, field: string): string | undefined {
  try {
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (counted after the command name, which may hold spaces). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function processRef(pid: number): ProcessRef | undefined {
  const start = startTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** Alive, and not a zombie: a zombie holds no namespace, memory or cgroup charge any more. */
export function isAlive(p: ProcessRef): boolean {
  return startTime(p.pid) === p.start && notZombie(p.pid);
}

function notZombie(pid: number): boolean {
  return !/^Z/.test(statusField(pid, 'State') ?? 'Z');
}

function parentOf(pid: number): number {
  return Number(statusField(pid, 'PPid') ?? NaN);
}

/** Host processes whose command line contains marker, except this one. */
export function processesWith(marker: string): number[] {
  return pidsOfProc().filter((pid) => {
    if (pid === process.pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`).toString().includes(marker);
    } catch {
      return false;
    }
  });
}

/** Processes in namespace `link` (`pid:[N]`, `mnt:[N]`), or holding it open through an fd. */
export function processesInNamespace(link: string): number[] {
  const kind = link.slice(0, link.indexOf(':'));
  return pidsOfProc().filter((pid) => {
    try {
      if (readlinkSync(`/proc/${pid}/ns/${kind}`) === link && notZombie(pid)) return true;
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkOr(`/proc/${pid}/fd/${fd}`) === link);
    } catch {
      return false; // gone meanwhile, or a kernel thread
    }
  });
}

function readlinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Live processes whose real, effective or saved uid is `uid`. */
export function processesOfUid(uid: number): number[] {
  return pidsOfProc().filter((pid) => {
    const uids = statusField(pid, 'Uid')?.split(/\s+/).slice(0, 3).map(Number) ?? [];
    return uids.includes(uid) && notZombie(pid);
  });
}

export function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The sandbox of a job process: walks up to the PID 1 of its namespace, then to its supervisor and zygote. */
export function readChain(jobPid: number, cgroupParents: string[]): SandboxChain {
  let init = jobPid;
  for (let hops = 0; !/\s1$/.test(statusField(init, 'NSpid') ?? ''); hops++) {
    if (hops > 16) throw new Error(`no PID 1 of a pid namespace above process ${jobPid}`);
    init = parentOf(init);
  }
  const supervisor = parentOf(init);
  const zygote = parentOf(supervisor);
  const name = /\/(w\d+-\d+)$/m.exec(readFileSync(`/proc/${init}/cgroup`, 'utf8'))?.[1];
  if (!name) throw new Error(`the sandbox's init ${init} is in no warmbox cgroup`);
  const cgroupDirs = cgroupParents.map((p) => join(p, name));
  const pidNs = readlinkSync(`/proc/${init}/ns/pid`);
  const pids = new Set([...cgroupDirs.flatMap(cgroupProcs), ...processesInNamespace(pidNs)]);
  const supervisorRef = processRef(supervisor);
  if (!supervisorRef) throw new Error(`the supervisor ${supervisor} of the sandbox is gone already`);
  return {
    zygote,
    supervisor,
    init,
    supervisorRef,
    pidNs,
    mntNs: readlinkSync(`/proc/${init}/ns/mnt`),
    cgroupDirs,
    processes: [...pids].map(processRef).filter((p): p is ProcessRef => p !== undefined),
    uid: Number(statusField(jobPid, 'Uid')?.split(/\s+/)[0]),
  };
}

/**
 * Waits (bounded) until the job with `marker` runs with its daemon, then reads its chain. `job`
 * is the job's own promise: if it ends first, that is the failure reported.
 */
export async function waitForSandboxOf(marker: string, cgroupParents: string[], job?: Promise<unknown>): Promise<SandboxChain> {
  let ended = false;
  void job?.then(() => (ended = true), () => (ended = true));
  await eventually(() => {
    if (ended) throw new Error(`the job with ${marker} ended before its processes were all up`);
    const found = processesWith(marker);
    if (found.length < 2) return false;
    const chain = readChain(found[0]!, cgroupParents);
    return chain.processes.length >= 5; // init, two shells, two sleeps
  }, `the job ${marker} and its daemon are up`);
  return readChain(processesWith(marker)[0]!, cgroupParents);
}

/** What is left of the sandbox: processes, cgroup dirs, users of its namespaces, mounts, processes of its uid. */
export function leftoversOf(chain: SandboxChain, opts: { mountPath?: string; uidIsPrivate?: boolean } = {}): string[] {
  const left: string[] = [];
  const alive = [chain.supervisorRef, ...chain.processes].filter(isAlive).map((p) => p.pid);
  if (alive.length) left.push(`processes of the sandbox alive (supervisor ${chain.supervisor}, init ${chain.init}): ${alive.join(' ')}`);
  const dirs = chain.cgroupDirs.filter((d) => existsSync(d));
  if (dirs.length) left.push(`cgroup dirs: ${dirs.join(' ')}`);
  for (const ns of [chain.pidNs, chain.mntNs]) {
    const users = processesInNamespace(ns);
    if (users.length) left.push(`${ns} still used by ${users.join(' ')}`);
  }
  if (opts.mountPath) {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(opts.mountPath!));
    if (mounts.length) left.push(`mounts: ${mounts.join(' | ')}`);
  }
  if (opts.uidIsPrivate) {
    const ofUid = processesOfUid(chain.uid);
    if (ofUid.length) left.push(`processes of uid ${chain.uid}: ${ofUid.join(' ')}`);
  }
  return left;
}

/** Polls (bounded) until leftoversOf reports nothing; throws with what was still there. */
export async function untilNothingLeft(chain: SandboxChain, opts: Parameters<typeof leftoversOf>[1] = {}, timeoutMs = 30_000): Promise<void> {
  let left: string[] = [];
  try {
    await eventually(() => (left = leftoversOf(chain, opts)).length === 0, 'nothing of the sandbox is left', timeoutMs);
  } catch {
    throw new Error(`${timeoutMs} ms after the kill, the sandbox is not gone:\n  ${left.join('\n  ')}`);
  }
}

/** After a failed test: kills what is left of the sandbox (only its own processes) and removes its cgroups. */
export function killLeftovers(chain: SandboxChain): void {
  const pids = new Set([...[chain.supervisorRef, ...chain.processes].filter(isAlive).map((p) => p.pid), ...processesInNamespace(chain.pidNs)]);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const dir of chain.cgroupDirs) {
    try {
      rmdirSync(dir);
    } catch {
      // gone, or busy for a moment more: the next worker start reaps it
    }
  }
}

/** Polls check every 50 ms until it holds; throws after timeoutMs (a bound on a hang, not on speed). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The promise's outcome, or a failure naming `what` if it has not settled within timeoutMs. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
