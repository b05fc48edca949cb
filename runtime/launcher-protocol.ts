/**
 * The wire format between the TypeScript runtime and the native launcher. The messages in (setup,
 * run) are defined once, in launcher-wire.json: their keys, order, units and which are required.
 * This module encodes them from that table; the launcher parses with a header generated from it
 * (runtime/native/spec.c, build/wire-keys.h) and refuses a message that lacks a key, so neither
 * side has defaults of its own. Events out are launcher.c's.
 *
 * A message is a list of records `key=value\0` ended by an empty record `\0`; a `file` record
 * `file=<mode octal>:<size>:<path>\0` is followed by exactly <size> raw bytes; a `file_from` record
 * has the same shape, its bytes the host path of a blob whose content the launcher reads itself.
 * Events are text lines: `ready`, `result k=v ...`, `error <stage>: <message>`; lines that start
 * with `warmbox-launcher: ` on the same stream are the launcher's log, for the operator.
 */
import WIRE from './launcher-wire.json' with { type: 'json' };

/** Everything the launcher needs to build and park one sandbox. Sizes in bytes. */
export interface SetupMessage {
  /** Image layer directories, bottom-most first. */
  lowerDirs: string[];
  /** An empty host directory to mount the sandbox's tmpfs on (inside its private mount ns). */
  mountDir: string;
  diskBytes: number;
  uid: number;
  gid: number;
  hostname: string;
  /** Absolute path inside the image. */
  workdir: string;
  cgroup: CgroupPlacement;
  /** Limits while parked; the run message replaces them. */
  parkedMemoryBytes: number;
  /** Processes a job may have; the launcher adds its init to the cgroup's limit. */
  parkedPids: number;
  /** CPU cores' worth of time while parked (a fraction: 0.5 = half a core). */
  parkedCpus: number;
  /** Network `bridge`: the sandbox's veth and address (runtime/sandbox-network.ts); absent: `none`, loopback only. */
  network?: NetworkLease;
}

/** One sandbox's place on its worker's bridge. */
export interface NetworkLease {
  bridge: string;
  /** The host end's name (the sandbox's end is its eth0). */
  veth: string;
  address: string;
  prefix: number;
  gateway: string;
  /** For its /etc/resolv.conf, in order. */
  nameservers: readonly string[];
}

export type CgroupPlacement =
  | { version: 'v1'; memory: string; pids: string; cpuacct: string; cpu: string }
  | { version: 'v2'; unified: string }
  | { version: 'none' };

export interface RunMessage {
  argv: string[];
  /** `K=V` entries: exactly the job's environment, nothing of the worker's. */
  env: string[];
  /** The job's working directory instead of the sandbox's (absolute; made as the job's user); absent: the sandbox's. */
  workdir?: string;
  files: { path: string; content: Buffer; mode: number }[];
  /** Files whose content is a host file (a blob): the launcher reads it, the bytes never pass through here. */
  hostFiles?: { path: string; hostPath: string; mode: number }[];
  /** A host file (a blob) fed to the job's stdin by the launcher instead of the stdin stream. */
  stdinFile?: string;
  wallTimeMs: number;
  cpuTimeMs: number;
  memoryBytes: number;
  /** Processes and threads of the job; the launcher adds its init to the cgroup's limit. */
  pids: number;
  /** Cap of the job's stdout. */
  outputBytes: number;
  /** Cap of the job's stderr, apart from stdout's. */
  stderrBytes: number;
  openFiles: number;
  fileSizeBytes: number;
  /** RLIMIT_STACK of the job's processes. */
  stackBytes: number;
  /** CPU cores' worth of time, all the job's processes together (a fraction: 0.5 = half a core). */
  cpus: number;
  /** Keep the writable layer for the worker to copy once the job is gone (a judge's build). */
  capture?: boolean;
}

/**
 * The CFS period cpus are counted over: the kernel's default, 100 ms. A job at 0.5 runs at most
 * 50 ms of each 100 ms, so its throttling is visible at that grain, not over seconds.
 */
export const CPU_PERIOD_US = 100_000;

/** The CFS quota of `cpus` cores per CPU_PERIOD_US, at least the kernel's minimum of 1 ms. */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

/** What the launcher reports when the job ended. */
export interface LauncherResult {
  status: 'exited' | 'signaled' | 'killed';
  code: number;
  signal: number;
  execErrno: number;
  wallUs: number;
  cpuUs: number;
  memoryPeakBytes: number;
  oomKills: number;
  limit: 'none' | 'wall' | 'cpu' | 'output' | 'cancel';
  outputBytes: number;
  truncated: 'none' | 'stdout' | 'stderr';
}

export type LauncherEvent =
  | { type: 'ready' }
  | { type: 'result'; result: LauncherResult }
  /** A capture run's writable layer: a path of the host (the supervisor's fd) valid until it hangs up. */
  | { type: 'capture'; path: string }
  | { type: 'error'; stage: string; message: string }
  /** The supervisor's last word: the sandbox is destroyed and its cgroups removed (it exits next). */
  | { type: 'gone' };

/** One key of a message, as launcher-wire.json describes it. */
interface WireField {
  key: string;
  type: 'path' | 'string' | 'u64' | 'file';
  unit?: string;
  repeated?: boolean;
  optional?: boolean;
  doc: string;
}

type MessageName = 'setup' | 'run';
type FileRecord = RunMessage['files'][number];
type WireValue = string | number | readonly string[] | readonly FileRecord[] | undefined;

const TABLE: Readonly<Record<MessageName, readonly WireField[]>> = { setup: WIRE.setup as WireField[], run: WIRE.run as WireField[] };

function record(key: string, value: string | number): Buffer {
  const text = `${key}=${value}`;
  if (text.includes('\0')) throw new Error(`launcher record ${key} contains a NUL byte`);
  return Buffer.from(`${text}\0`);
}

const END = Buffer.from('\0');

/**
 * A message's records in the table's order. Every key the table requires must have a value, and
 * every value a key in the table: a mismatch is a bug here, caught before the launcher refuses it.
 */
function encodeMessage(name: MessageName, values: Record<string, WireValue>): Buffer {
  const fields = TABLE[name];
  const unknown = Object.keys(values).filter((k) => !fields.some((f) => f.key === k));
  if (unknown.length) throw new Error(`launcher ${name} message: ${unknown.join(', ')} not in launcher-wire.json`);
  const parts: Buffer[] = [];
  for (const field of fields) {
    const value = values[field.key];
    const items = value === undefined ? [] : field.repeated ? (value as readonly (string | FileRecord)[]) : [value as string | number];
    if (items.length === 0 && !field.optional) throw new Error(`launcher ${name} message lacks ${field.key}`);
    for (const item of items) parts.push(...encodeValue(field, item));
  }
  return Buffer.concat([...parts, END]);
}

function encodeValue(field: WireField, value: string | number | FileRecord): Buffer[] {
  if (field.type === 'file') {
    const f = value as FileRecord;
    return [record(field.key, `${(f.mode & 0o777).toString(8)}:${f.content.length}:${f.path}`), f.content];
  }
  if (field.type === 'u64' && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
    throw new Error(`launcher record ${field.key} must be a non-negative integer, not ${String(value)}`);
  }
  return [record(field.key, value as string | number)];
}

export function encodeSetup(m: SetupMessage): Buffer {
  return encodeMessage('setup', {
    lower: m.lowerDirs,
    mnt: m.mountDir,
    disk_bytes: m.diskBytes,
    uid: m.uid,
    gid: m.gid,
    hostname: m.hostname,
    workdir: m.workdir,
    ...cgroupValues(m.cgroup),
    memory_bytes: m.parkedMemoryBytes,
    pids: m.parkedPids,
    cpu_quota_us: cpuQuotaUs(m.parkedCpus),
    cpu_period_us: CPU_PERIOD_US,
    ...(m.network && networkValues(m.network)),
  });
}

function networkValues(n: NetworkLease): Record<string, WireValue> {
  return { net_bridge: n.bridge, net_veth: n.veth, net_address: n.address, net_prefix: n.prefix, net_gateway: n.gateway, nameserver: n.nameservers };
}

function cgroupValues(c: CgroupPlacement): Record<string, string> {
  switch (c.version) {
    case 'v1':
      return { cgroup: 'v1', cgroup_memory: c.memory, cgroup_pids: c.pids, cgroup_cpuacct: c.cpuacct, cgroup_cpu: c.cpu };
    case 'v2':
      return { cgroup: 'v2', cgroup_unified: c.unified };
    case 'none':
      return { cgroup: 'none' };
  }
}

export function encodeRun(m: RunMessage): Buffer {
  return encodeMessage('run', {
    arg: m.argv,
    env: m.env,
    workdir: m.workdir,
    wall_ms: m.wallTimeMs,
    cpu_ms: m.cpuTimeMs,
    memory_bytes: m.memoryBytes,
    pids: m.pids,
    output_bytes: m.outputBytes,
    stderr_bytes: m.stderrBytes,
    nofile: m.openFiles,
    fsize_bytes: m.fileSizeBytes,
    stack_bytes: m.stackBytes,
    cpu_quota_us: cpuQuotaUs(m.cpus),
    cpu_period_us: CPU_PERIOD_US,
    file: m.files,
    file_from: m.hostFiles?.map((f) => ({ path: f.path, content: Buffer.from(f.hostPath), mode: f.mode })),
    stdin_file: m.stdinFile,
    capture: m.capture ? 1 : undefined,
  });
}

export function parseEvent(line: string): LauncherEvent {
  if (line === 'ready') return { type: 'ready' };
  if (line === 'gone') return { type: 'gone' };
  if (line.startsWith('result ')) return { type: 'result', result: parseResult(line.slice(7)) };
  const capture = /^capture path=(\/proc\/\d+\/fd\/\d+)$/.exec(line);
  if (capture) return { type: 'capture', path: capture[1]! };
  const m = /^error ([a-z]+): (.*)$/.exec(line);
  if (m) return { type: 'error', stage: m[1]!, message: m[2]! };
  throw new Error(`unexpected launcher event: ${JSON.stringify(line)}`);
}

function parseResult(text: string): LauncherResult {
  const kv = new Map(text.split(' ').map((pair) => pair.split('=') as [string, string]));
  const num = (k: string): number => {
    const v = Number(kv.get(k));
    if (!Number.isFinite(v)) throw new Error(`launcher result lacks ${k}: ${text}`);
    return v;
  };
  return {
    status: kv.get('status') as LauncherResult['status'],
    code: num('code'),
    signal: num('signal'),
    execErrno: num('exec_errno'),
    wallUs: num('wall_us'),
    cpuUs: num('cpu_us'),
    memoryPeakBytes: num('memory_peak_bytes'),
    oomKills: num('oom_kills'),
    limit: kv.get('limit') as LauncherResult['limit'],
    outputBytes: num('output_bytes'),
    truncated: kv.get('truncated') as LauncherResult['truncated'],
  };
}
