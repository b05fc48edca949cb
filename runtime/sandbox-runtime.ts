/**
 * The runtime as a library (like libcontainer under runc): makes sandboxes of stored images.
 * It knows nothing of HTTP, Redis or the db.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import type { StoredImage } from '../contract/stored-image.js';
import { cgroupDirsOf, killAndRemoveCgroups, killAndRemoveCgroupsNow, type CgroupLeft } from './cgroup-teardown.js';
import { probeCgroupsWritable, reapStaleCgroups, setUpCgroups, type CgroupLayout } from './cgroups.js';
import type { CgroupPlacement } from './launcher-protocol.js';
import { LauncherZygote } from './launcher-zygote.js';
import { Sandbox, SandboxError } from './sandbox.js';
import { workingDirMessage, workingDirTextProblem } from '../contract/working-dir.js';
import { UnusableWorkdirError } from './unusable-workdir-error.js';
import { UidRange } from './uid-range.js';
import type { NetworkMode } from '../contract/network-mode.js';
import { reapStaleNetworks } from './network-leftovers.js';
import { DEFAULT_NETWORK_SETTINGS, type NetworkSettings } from './network-settings.js';
import { SandboxNetwork } from './sandbox-network.js';

export interface RuntimeOptions {
  /** Holds the sandboxes' (empty) mount point; `<WARMBOX_DATA>/run`. */
  runDir: string;
  launcherPath: string;
  /** The unprivileged identity jobs run as: `uidCount` uids from `uid` (1: all share it). */
  uid: number;
  uidCount?: number;
  gid: number;
  cgroupRoot?: string;
  /** How sandboxes with network `bridge` reach out (runtime/network-settings.ts); absent: the defaults. */
  network?: NetworkSettings;
}

/**
 * A parked sandbox's cgroup limits: the defaults, so that a job with default limits (most of
 * them) needs no cgroup write when it starts.
 */
const PARKED_MEMORY_BYTES = DEFAULT_LIMITS.memoryBytes;
const PARKED_PIDS = DEFAULT_LIMITS.pids;
const PARKED_CPUS = DEFAULT_LIMITS.cpus;


export class SandboxRuntime {
  private seq = 0;
  private readonly mountDir: string;
  private readonly uids: UidRange;
  /** The cgroups of every sandbox whose supervisor has not exited yet, by sandbox name. */
  private readonly live = new Map<string, CgroupPlacement>();
  /** Teardowns after a supervisor's exit still in progress: close() waits for them. */
  private readonly exits = new Set<Promise<void>>();
  /** The worker's bridge, made with its first `bridge` sandbox. */
  private network?: Promise<SandboxNetwork>;

  private constructor(
    private readonly opts: RuntimeOptions,
    readonly cgroups: CgroupLayout,
    private readonly zygote: LauncherZygote,
    private readonly onLog: (line: string) => void,
  ) {
    this.mountDir = mountDirOf(opts.runDir);
    this.uids = new UidRange(opts.uid, opts.uidCount ?? 1);
  }

  /** Checks the launcher is built, prepares cgroups, reaps what a crashed worker left, starts the zygote. */
  static async open(opts: RuntimeOptions, onLog: (line: string) => void = () => {}): Promise<SandboxRuntime> {
    if (!existsSync(opts.launcherPath)) {
      throw new SandboxError(`the sandbox launcher is not built (${opts.launcherPath} is missing): run \`npm run setup\``);
    }
    if (opts.uid === 0 || opts.gid === 0) throw new SandboxError('jobs must not run as root: set a non-zero sandbox uid and gid');
    const cgroups = setUpCgroups(opts.cgroupRoot);
    const { left } = await reapStaleCgroups(cgroups, isAlive);
    for (const l of left) onLog(`cannot remove the cgroup ${l.dir} of a dead worker's sandbox: ${l.why}`);
    for (const l of await reapStaleNetworks(networkSettingsOf(opts).namePrefix, isAlive)) onLog(`cannot remove the network of a dead worker: ${l}`);
    mkdirSync(mountDirOf(opts.runDir), { recursive: true, mode: 0o700 });
    const zygote = await LauncherZygote.start(opts.launcherPath, join(opts.runDir, 'launcher.sock'), onLog);
    return new SandboxRuntime(opts, cgroups, zygote, onLog);
  }

  /** Builds a sandbox of the image and waits until it is parked. */
  async create(image: StoredImage, opts: { diskBytes: number; network?: NetworkMode }): Promise<Sandbox> {
    const workdir = workdirOf(image);
    const seq = ++this.seq;
    const name = `w${process.pid}-${seq}`;
    const network = opts.network === 'bridge' ? await this.openNetwork() : undefined;
    const lease = network?.lease(seq);
    let uid: number;
    try {
      uid = this.uids.take();
    } catch (err) {
      if (lease) await network!.release(lease);
      throw err;
    }
    const cgroup = this.cgroups.placementFor(name);
    this.live.set(name, cgroup);
    const sandbox = Sandbox.create(this.zygote, name, {
      lowerDirs: image.layerDirs,
      mountDir: this.mountDir,
      diskBytes: opts.diskBytes,
      uid,
      gid: this.opts.gid,
      hostname: 'warmbox',
      workdir,
      cgroup,
      parkedMemoryBytes: PARKED_MEMORY_BYTES,
      parkedPids: PARKED_PIDS,
      parkedCpus: PARKED_CPUS,
      ...(lease && { network: lease }),
    });
    const exit = sandbox
      .then(
        async (s) => {
          await s.closed;
          return s.cgroupsRemoved;
        },
        () => false,
      )
      .then((removed) => this.afterExit(name, cgroup, uid, removed))
      .then(() => lease && network!.release(lease))
      .catch((err: Error) => this.onLog(`sandbox ${name}: ${err.message}`));
    this.exits.add(exit);
    void exit.finally(() => this.exits.delete(exit));
    return sandbox;
  }

  /**
   * Once the supervisor has exited: it removed the sandbox's cgroups itself (and said so: `removed`),
   * unless it died first (killed, or its zygote died); then every process still in them is killed
   * and they are removed here. The uid is free again only when nothing of the sandbox runs any more.
   */
  private async afterExit(name: string, cgroup: CgroupPlacement, uid: number, removed: boolean): Promise<void> {
    // Off the event loop: a stat in a cgroupfs whose cgroups are being removed waits for the
    // kernel's cgroup lock, ~3 ms a sandbox in a profile under load, all of it blocking.
    const dirs = removed ? [] : await existingDirs(cgroupDirsOf(cgroup));
    if (dirs.length) this.onLog(`sandbox ${name}: its cgroups outlived its supervisor; killing what is left in them and removing them`);
    const left = await killAndRemoveCgroups(dirs);
    this.live.delete(name);
    for (const l of left) this.onLog(`sandbox ${name}: cannot remove its cgroup ${l.dir}: ${l.why}; its uid ${uid} stays taken`);
    if (left.length === 0) this.uids.release(uid);
  }

  private openNetwork(): Promise<SandboxNetwork> {
    this.network ??= SandboxNetwork.open(networkSettingsOf(this.opts), this.onLog);
    this.network.catch(() => (this.network = undefined)); // a failed attempt (no nft, say) is tried again by the next job
    return this.network;
  }

  /** Resolves when the launcher zygote answers a ping within timeoutMs (starting it again if it died). */
  probeLauncher(timeoutMs: number): Promise<void> {
    return this.zygote.ping(timeoutMs);
  }

  /** Throws when a sandbox's cgroups could not be made now (the hierarchy is gone or read-only). */
  probeCgroups(): void {
    probeCgroupsWritable(this.cgroups);
  }

  /** The launcher zygote's pid while it runs. */
  get launcherPid(): number | undefined {
    return this.zygote.pid;
  }

  /** Sandbox uids handed out and not yet given back (always 0 when all sandboxes share one uid). */
  get uidsInUse(): number {
    return this.uids.inUse;
  }

  /**
   * For a process that must exit now (a second signal during a stop): kills the zygote, every
   * supervisor and every process of every sandbox, and removes their cgroups, synchronously.
   * Returns the cgroup directories it could not remove.
   */
  killAllNow(): CgroupLeft[] {
    this.zygote.killNow();
    const dirs = [...this.live.values()].flatMap(cgroupDirsOf).filter((d) => existsSync(d));
    return killAndRemoveCgroupsNow(dirs);
  }

  /** Stops the zygote, and with it every sandbox it made: use or destroy them first. */
  async close(): Promise<void> {
    await this.zygote.close();
    await Promise.all(this.exits); // every sandbox's cgroups removed, by its supervisor or by afterExit
    const network = await this.network?.catch(() => undefined);
    await network?.close(); // the bridge and the table, once no sandbox uses them
  }
}

/**
 * The directory a sandbox of the image starts its job in: the image's WorkingDir as the store
 * resolved it through the layers (no symlink left in it), checked once more here, where it is used.
 * An image stored before pulls checked it may still have a WorkingDir no job can use.
 */
export function workdirOf(image: StoredImage): string {
  const problem = 'problem' in image.workdir ? image.workdir.problem : workingDirTextProblem(image.workdir.path);
  if (problem !== undefined) throw new UnusableWorkdirError(workingDirMessage(image.config.workingDir, problem));
  const path = (image.workdir as { path: string }).path;
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** The one empty dir every sandbox mounts its tmpfs on, each in its own private mount namespace. */
function mountDirOf(runDir: string): string {
  return join(runDir, 'mnt');
}

function networkSettingsOf(opts: RuntimeOptions): NetworkSettings {
  return opts.network ?? DEFAULT_NETWORK_SETTINGS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The directories that exist, each looked up on libuv's thread pool. */
async function existingDirs(dirs: string[]): Promise<string[]> {
  const found = await Promise.all(dirs.map((d) => stat(d).then(() => d, () => undefined)));
  return found.filter((d): d is string => d !== undefined);
}
