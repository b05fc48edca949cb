/**
 * Finds how this host offers cgroups and where warmbox's sandboxes live in them.
 * One layout per version (the launcher has one driver per version: native/cgroup-v1.c, -v2.c).
 *   v1 (hybrid hosts like these): <root>/{memory,pids,cpuacct,cpu}/warmbox/<sandbox>
 *   v2 (unified):                 <root>/warmbox/<sandbox>, with +memory +pids +cpu delegated
 */
import { existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killAndRemoveCgroups, type CgroupLeft } from './cgroup-teardown.js';
import type { CgroupPlacement } from './launcher-protocol.js';

export class CgroupSetupError extends Error {
  override name = 'CgroupSetupError';
}

export interface CgroupLayout {
  version: 'v1' | 'v2';
  /** Where sandbox `name` gets its cgroups. */
  placementFor(name: string): CgroupPlacement;
  /** Every directory that holds sandbox cgroups (one per v1 controller, one on v2). */
  parents: string[];
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpuacct', 'cpu'] as const;
const V2_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

/** Probes the host and prepares the `warmbox` parent cgroups; throws naming what is missing. */
export function setUpCgroups(root = '/sys/fs/cgroup', group = 'warmbox'): CgroupLayout {
  if (existsSync(join(root, 'cgroup.controllers'))) return setUpV2(root, group);
  if (V1_CONTROLLERS.every((c) => existsSync(join(root, c, 'cgroup.procs')))) return setUpV1(root, group);
  throw new CgroupSetupError(
    `no usable cgroups at ${root}: need cgroup v2 (cgroup.controllers) or cgroup v1 with the ` +
      `${V1_CONTROLLERS.join(', ')} controllers mounted at ${root}/<controller>`,
  );
}

function setUpV1(root: string, group: string): CgroupLayout {
  const dirs = V1_CONTROLLERS.map((c) => join(root, c, group));
  for (const p of dirs) mkdirSync(p, { recursive: true });
  const [memory, pids, cpuacct, cpu] = dirs as [string, string, string, string];
  // cpu and cpuacct are often one hierarchy (cpu,cpuacct, linked from both names): reap it once.
  const parents = [...new Map(dirs.map((d) => [realpathSync(d), d])).values()];
  return {
    version: 'v1',
    parents,
    placementFor: (name) => ({ version: 'v1', memory: join(memory, name), pids: join(pids, name), cpuacct: join(cpuacct, name), cpu: join(cpu, name) }),
  };
}

function setUpV2(root: string, group: string): CgroupLayout {
  const available = readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new CgroupSetupError(
      `cgroup v2 at ${root} does not offer the ${missing.join(', ')} controller(s) to warmbox: ` +
        `enable them in the parent's cgroup.subtree_control (with systemd: Delegate=yes on the warmbox unit)`,
    );
  }
  const parent = join(root, group);
  mkdirSync(parent, { recursive: true });
  enableControllers(root);
  enableControllers(parent);
  return { version: 'v2', parents: [parent], placementFor: (name) => ({ version: 'v2', unified: join(parent, name) }) };
}

function enableControllers(dir: string): void {
  const enabled = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8');
  const wanted = V2_CONTROLLERS.filter((c) => !enabled.includes(c));
  if (wanted.length) writeFileSync(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

/**
 * Ends sandbox cgroups whose owning worker (pid in the name `w<pid>-<n>`) is gone — left by a
 * worker killed together with its launchers: kills their processes, then removes them, waiting
 * (bounded) while they are busy. Resolves with the number removed and the directories it could not.
 */
export async function reapStaleCgroups(layout: CgroupLayout, isAlive: (pid: number) => boolean): Promise<{ reaped: number; left: CgroupLeft[] }> {
  const stale: string[] = [];
  for (const parent of layout.parents) {
    for (const name of safeReaddir(parent)) {
      const owner = /^w(\d+)-/.exec(name);
      const dir = join(parent, name);
      if (owner && !isAlive(Number(owner[1])) && statSync(dir).isDirectory()) stale.push(dir);
    }
  }
  const left = await killAndRemoveCgroups(stale);
  return { reaped: stale.length - left.length, left };
}

/**
 * Whether sandboxes' cgroups can be made now: makes and removes an empty cgroup in each parent
 * (a read-only or vanished hierarchy fails). Named like a sandbox of this process, so that one
 * left by a crash in between is reaped like any other.
 */
export function probeCgroupsWritable(layout: CgroupLayout): void {
  const name = `w${process.pid}-readiness-probe`;
  for (const parent of layout.parents) {
    const dir = join(parent, name);
    mkdirSync(dir);
    rmdirSync(dir);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
