/**
 * Real sandboxes for tests that attack them (test/security/): a temporary data directory with a
 * snapshot store, the built-in images and a SandboxRuntime driving the real native launcher.
 *
 *   const fx = await SandboxFixture.open('limits');
 *   const r = await fx.runJob(['sh', '-c', 'echo hi'], { wallTimeMs: 2000 });
 *   await fx.teardown();
 *
 * Every sandbox the fixture makes is awaited until `closed` (its launcher exited: namespaces gone,
 * cgroups removed) before runJob returns; teardown destroys any that a failing test left parked.
 * compileStatic builds test/security/programs/<name>.c once per process, for jobs that need a
 * syscall busybox cannot make.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureBuiltinImages, HOST_BUSYBOX } from '../../images/builtin-images.js';
import { SnapshotStore, type StoredImage } from '../../images/image-store.js';
import { DEFAULT_LIMITS, type Limits } from '../../contract/limits.js';
import { launcherPath, packageRoot } from '../../contract/paths.js';
import type { RunResult, Sandbox } from '../../runtime/sandbox.js';
import { SandboxRuntime } from '../../runtime/sandbox-runtime.js';
import type { NetworkMode } from '../../contract/network-mode.js';
import type { NetworkSettings } from '../../runtime/network-settings.js';
import { buildSingleLayerImage, type SingleLayerImageSpec } from '../../images/store/image-builder.js';
import { encodeTar, tarEntriesOfDir, type TarEntry } from '../../images/store/layer-tar.js';
import { MEDIA_TYPE, ociArchitecture } from '../../images/store/oci-image.js';
import { envOf } from '../../worker/job-command.js';
import { makeTempDir, removeTempDir } from './tmp.js';

const exec = promisify(execFile);

/** The identity jobs run as (the runtime's default: nobody). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/** The namespaces a job must not share with the host. */
export const NAMESPACES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] as const;

export interface JobFile {
  path: string;
  content: Buffer;
  mode: number;
}

/** A job's limits (DEFAULT_LIMITS where not given) and its inputs. */
export interface JobOptions extends Partial<Limits> {
  /** Default: the built-in busybox image. */
  image?: StoredImage;
  /** Exactly the job's environment; default: what the worker gives a request without env (envOf). */
  env?: string[];
  files?: JobFile[];
  /** Files whose content the launcher reads from a host file (a blob), as the worker sends a job's blob files. */
  hostFiles?: { path: string; hostPath: string; mode: number }[];
  stdin?: Buffer | string;
  /** A host file (a blob) the launcher feeds to the job's stdin instead of `stdin`. */
  stdinFile?: string;
  /** Live output, as the worker streams it. */
  onStdout?: (chunk: Buffer) => void;
  /** Aborting cancels the job. */
  signal?: AbortSignal;
  /** Default: `none`. */
  network?: NetworkMode;
}

export interface FixtureOptions {
  /** Sandboxes get uids from a range of this many, starting at `uid` (default: all share 65534). */
  uidCount?: number;
  uid?: number;
  /** For sandboxes with network `bridge` (default: the runtime's defaults). */
  network?: NetworkSettings;
}

export type ImageConfigSpec = SingleLayerImageSpec['config'];

export class SandboxFixture {
  /** Every sandbox made, to be awaited until closed. */
  readonly #sandboxes = new Set<Sandbox>();
  #imageSeq = 0;

  private constructor(
    readonly dataDir: string,
    readonly store: SnapshotStore,
    readonly runtime: SandboxRuntime,
    readonly busybox: StoredImage,
  ) {}

  /** A fresh data directory with the built-in images and a runtime on the real launcher. */
  static async open(label: string, opts: FixtureOptions = {}): Promise<SandboxFixture> {
    const dataDir = await makeTempDir(`security-${label}`);
    try {
      const store = new SnapshotStore(join(dataDir, 'images'));
      await store.init();
      const [busybox] = await ensureBuiltinImages(store);
      if (!busybox) throw new Error('ensureBuiltinImages returned no busybox image');
      const runtime = await SandboxRuntime.open({
        runDir: runDirOf(dataDir),
        launcherPath: launcherPath(),
        uid: opts.uid ?? SANDBOX_UID,
        uidCount: opts.uidCount ?? 1,
        gid: SANDBOX_GID,
        ...(opts.network && { network: opts.network }),
      });
      return new SandboxFixture(dataDir, store, runtime, busybox);
    } catch (err) {
      await removeTempDir(dataDir);
      throw err;
    }
  }

  /** The runtime's own directory: the zygote's socket, the sandboxes' mount point. */
  get runDir(): string {
    return runDirOf(this.dataDir);
  }

  /** The host directory the runtime mounts sandboxes on (inside their private mount namespaces). */
  get mountDir(): string {
    return join(this.runDir, 'mnt');
  }

  /** The unix socket the zygote's supervisors connect back to. */
  get socketPath(): string {
    return join(this.runDir, 'launcher.sock');
  }

  /** A parked sandbox; the fixture awaits it in teardown if the test does not run it. */
  async createSandbox(image: StoredImage = this.busybox, diskBytes: number = DEFAULT_LIMITS.diskBytes, network: NetworkMode = 'none'): Promise<Sandbox> {
    const sandbox = await this.runtime.create(image, { diskBytes, network });
    this.#sandboxes.add(sandbox);
    void sandbox.closed.then(() => this.#sandboxes.delete(sandbox));
    return sandbox;
  }

  /** Runs one command in a parked sandbox and waits until the sandbox is gone. */
  async runIn(sandbox: Sandbox, argv: string[], opts: JobOptions = {}): Promise<RunResult> {
    const { image = this.busybox, env, files = [], hostFiles, stdin = '', stdinFile, onStdout, signal, network: _network, ...limits } = opts;
    try {
      return await sandbox.run({
        ...DEFAULT_LIMITS,
        ...limits,
        ...(onStdout && { onStdout }),
        ...(signal && { signal }),
        argv,
        env: env ?? envOf({ env: {} }, image.config),
        files,
        ...(hostFiles && { hostFiles }),
        ...(stdinFile !== undefined && { stdinFile }),
        stdin: Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin),
      });
    } finally {
      await sandbox.destroy(); // a no-op wait for a launcher that already exits after its one run
    }
  }

  /** Creates a sandbox of the image, runs argv in it with DEFAULT_LIMITS + opts, and waits until it is gone. */
  async runJob(argv: string[], opts: JobOptions = {}): Promise<RunResult> {
    const sandbox = await this.createSandbox(opts.image ?? this.busybox, opts.diskBytes ?? DEFAULT_LIMITS.diskBytes, opts.network);
    return this.runIn(sandbox, argv, opts);
  }

  /**
   * Builds and stores a single-layer image (a hostile one, typically). With `busybox`, the rootfs
   * starts as a copy of the built-in image's (busybox with its applet links, /etc/passwd, /tmp,
   * /work); then `build` changes it as the attack needs. Ownership and modes are taken from disk:
   * the test runs as root, so what it chowns to 0 is root-owned in the image.
   */
  async buildImage(opts: {
    name: string;
    config?: ImageConfigSpec;
    busybox?: boolean;
    build?: (rootfs: string) => Promise<void>;
    /** Raw tar entries appended to the layer: what no directory on disk can hold (device nodes...). */
    extraEntries?: TarEntry[];
  }): Promise<StoredImage> {
    const reference = `localhost/warmbox-security/${opts.name}:${++this.#imageSeq}`;
    const staging = join(this.dataDir, `image-${this.#imageSeq}`);
    const rootfs = join(staging, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await chmod(rootfs, 0o755);
    try {
      if (opts.busybox ?? true) await busyboxTree(rootfs);
      await opts.build?.(rootfs);
      const spec: SingleLayerImageSpec = {
        reference,
        rootfs,
        created: new Date(0),
        config: opts.config ?? { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
        createdBy: `test/security: ${opts.name}`,
      };
      if (opts.extraEntries) await storeRawLayerImage(this.store, spec, opts.extraEntries);
      else await buildSingleLayerImage(this.store, spec);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    const image = await this.store.resolve(reference);
    if (!image) throw new Error(`image ${reference} was built but does not resolve`);
    return image;
  }

  /** Names of this process's sandbox cgroups still present under any controller's warmbox/ dir. */
  leftoverCgroups(): string[] {
    const mine = `w${process.pid}-`;
    return this.runtime.cgroups.parents.flatMap((parent) => {
      try {
        return readdirSync(parent).filter((n) => n.startsWith(mine)).map((n) => join(parent, n));
      } catch {
        return [];
      }
    });
  }

  /** Destroys what a failed test left parked, waits for every launcher, stops the zygote, removes the data dir. */
  async teardown(): Promise<void> {
    await Promise.all([...this.#sandboxes].map((s) => s.destroy()));
    await this.runtime.close();
    await removeTempDir(this.dataDir);
    await removeCompiled();
  }
}

/** As the server lays it out: `<data>/run/<worker pid>`, so that a leak of it names the pid too. */
function runDirOf(dataDir: string): string {
  return join(dataDir, 'run', String(process.pid));
}

/** As buildSingleLayerImage, with raw entries appended to the layer tar (the unpacker judges them). */
async function storeRawLayerImage(store: SnapshotStore, spec: SingleLayerImageSpec, extra: TarEntry[]): Promise<void> {
  const tar = encodeTar([...(await tarEntriesOfDir(spec.rootfs, spec.created)), ...extra]);
  const layer = await store.putBlob(tar);
  const { diffId } = await store.addLayer(layer.digest, layer.digest);
  const config = await store.putBlob(Buffer.from(JSON.stringify({
    created: spec.created.toISOString(),
    architecture: ociArchitecture(),
    os: 'linux',
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
  })));
  const manifest = await store.putBlob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: MEDIA_TYPE.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MEDIA_TYPE.ociLayer, digest: layer.digest, size: layer.size }],
  })));
  await store.tagImage(spec.reference, manifest.digest);
}

/** busybox, a link per applet, /etc/passwd and group, and the usual directories. */
async function busyboxTree(rootfs: string): Promise<void> {
  const dirs: [string, number][] = [['bin', 0o755], ['etc', 0o755], ['proc', 0o755], ['dev', 0o755], ['tmp', 0o1777], ['work', 0o1777]];
  for (const [dir, mode] of dirs) {
    await mkdir(join(rootfs, dir));
    await chmod(join(rootfs, dir), mode);
  }
  await copyFile(HOST_BUSYBOX, join(rootfs, 'bin', 'busybox'));
  await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
  const { stdout } = await exec(HOST_BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n')) {
    if (applet && applet !== 'busybox' && !applet.includes('/')) await symlink('busybox', join(rootfs, 'bin', applet));
  }
  await writeFile(join(rootfs, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\nnobody:x:${SANDBOX_UID}:${SANDBOX_GID}:nobody:/home:/bin/false\n`);
  await writeFile(join(rootfs, 'etc', 'group'), `root:x:0:\nnobody:x:${SANDBOX_GID}:\n`);
}

// ---------------------------------------------------------------------------------------------
// Attack programs

let compileDir: Promise<string> | undefined;
const compiled = new Map<string, Promise<string>>();

/** The source of an attack program: test/security/programs/<name>.c (sources, not dist/). */
export function programSource(name: string): string {
  return join(packageRoot(), 'test', 'security', 'programs', `${name}.c`);
}

/**
 * Compiles test/security/programs/<name>.c with `gcc -static -O2` into a temporary directory, once
 * per process; returns the binary's host path.
 */
export function compileStatic(name: string): Promise<string> {
  if (!/^[a-z0-9_-]+$/.test(name)) throw new Error(`bad program name ${JSON.stringify(name)}`);
  let binary = compiled.get(name);
  if (!binary) {
    compileDir ??= makeTempDir('security-programs');
    binary = compileDir.then(async (dir) => {
      const out = join(dir, name);
      try {
        await exec('gcc', ['-static', '-O2', '-Wall', '-o', out, programSource(name)]);
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? '';
        throw new Error(`compiling ${programSource(name)} failed:\n${stderr}`, { cause: err });
      }
      return out;
    });
    compiled.set(name, binary);
  }
  return binary;
}

/** The compiled program as a request file `<name>` (mode 0755), to run as `./<name>`. */
export async function programFile(name: string): Promise<JobFile> {
  return { path: name, content: await readFile(await compileStatic(name)), mode: 0o755 };
}

async function removeCompiled(): Promise<void> {
  const dir = compileDir;
  compileDir = undefined;
  compiled.clear();
  if (dir) await removeTempDir(await dir.catch(() => undefined));
}

// ---------------------------------------------------------------------------------------------
// The proof that an attack runs where it should

/** Per-test bound: an attack that hangs the sandbox fails the test instead of the run. */
export const ATTACK_TIMEOUT_MS = 60_000;

export interface SecuritySuite {
  /** The suite's fixture; throws (failing the test) when isolation was not proven. */
  fixture(): Promise<SandboxFixture>;
}

/**
 * For a describe() of attacks: registers a before() that opens a fixture and proves isolation
 * (proveIsolation), an after() that tears it down, and a first test that reports the proof. Each
 * attack test takes the fixture from suite.fixture(), which throws when the proof failed: without
 * fresh namespaces and an unprivileged user every attack FAILS, loudly, instead of passing vacuously.
 */
export function securitySuite(label: string, opts: FixtureOptions = {}): SecuritySuite {
  let fx: SandboxFixture | undefined;
  let failure: Error | undefined;
  before(async () => {
    try {
      fx = await SandboxFixture.open(label, opts);
      await proveIsolation(fx);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
  }, { timeout: 120_000 });
  after(async () => {
    await fx?.teardown();
  }, { timeout: 120_000 });
  it('runs its jobs in fresh mnt/pid/net/ipc/uts/cgroup namespaces as an unprivileged user (precondition of every attack here)', () => {
    if (failure) throw failure;
  });
  return {
    async fixture() {
      if (failure) throw new Error(`attack not judged, the sandbox is not proven isolated: ${failure.message}`, { cause: failure });
      if (!fx) throw new Error('the security suite has no fixture (before() did not run)');
      return fx;
    },
  };
}

export interface IsolationProof {
  namespaces: Record<string, { job: string; host: string }>;
  uid: number;
  gid: number;
}

/**
 * Runs a harmless job and checks that it is in fresh mnt/pid/net/ipc/uts/cgroup namespaces (its
 * /proc/self/ns links differ from the host's) and not root. Throws, saying what is wrong, otherwise:
 * an attack that "fails" outside a sandbox proves nothing.
 */
export async function proveIsolation(fx: SandboxFixture): Promise<IsolationProof> {
  const script = `for n in ${NAMESPACES.join(' ')}; do echo "ns $n $(readlink /proc/self/ns/$n)"; done; echo "uid $(id -u)"; echo "gid $(id -g)"`;
  const r = await fx.runJob(['sh', '-c', script], { wallTimeMs: 5000, cpuTimeMs: 2000 });
  const out = r.stdout.toString();
  if (r.verdict !== 'ok') {
    throw new Error(`ISOLATION NOT PROVEN: the probe job did not run cleanly (${describeRun(r)})`);
  }
  const namespaces: IsolationProof['namespaces'] = {};
  const problems: string[] = [];
  for (const ns of NAMESPACES) {
    const job = /^ns (\S+) (.*)$/m.exec(out.split('\n').find((l) => l.startsWith(`ns ${ns} `)) ?? '')?.[2] ?? '';
    const host = readlinkSync(`/proc/self/ns/${ns}`);
    namespaces[ns] = { job, host };
    if (!/^[a-z]+:\[\d+\]$/.test(job)) problems.push(`${ns}: the job could not read its namespace link (${JSON.stringify(job)})`);
    else if (job === host) problems.push(`${ns}: the job shares the host's namespace ${host}`);
  }
  const uid = Number(/^uid (\d+)$/m.exec(out)?.[1] ?? NaN);
  const gid = Number(/^gid (\d+)$/m.exec(out)?.[1] ?? NaN);
  if (!Number.isInteger(uid) || uid === 0) problems.push(`the job runs as uid ${uid}, not as an unprivileged user`);
  if (!Number.isInteger(gid) || gid === 0) problems.push(`the job runs as gid ${gid}, not as an unprivileged group`);
  if (problems.length) {
    throw new Error(`ISOLATION NOT PROVEN, the attacks below would test nothing:\n  ${problems.join('\n  ')}\njob output:\n${out}`);
  }
  return { namespaces, uid, gid };
}

/** One line about a run, for assertion messages. */
export function describeRun(r: RunResult): string {
  const cut = (b: Buffer): string => JSON.stringify(b.subarray(0, 600).toString());
  return `verdict=${r.verdict} exit=${r.exitCode} signal=${r.signal} usage=${JSON.stringify(r.usage)} ` +
    `stdout=${cut(r.stdout)} stderr=${cut(r.stderr)} launcher=${JSON.stringify(r.launcher)}`;
}

/** `name errno` lines (as the attack programs print them) → map. */
export function parseErrnos(stdout: Buffer | string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of stdout.toString().split('\n')) {
    const hit = /^(\S+) (-?\d+)$/.exec(line.trim());
    if (hit) m.set(hit[1]!, Number(hit[2]));
  }
  return m;
}

/** The given host processes and all their descendants (from the parent pid in /proc/<pid>/stat). */
export function withDescendants(pids: number[]): Set<number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set(pids);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return tree;
}

/** Host processes whose command line contains marker (/proc/<pid>/cmdline, NUL-separated). */
export function hostProcessesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`).toString().includes(marker)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
