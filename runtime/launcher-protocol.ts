/**
 * The wire format between the TypeScript runtime and the native launcher, defined once.
 * C side: runtime/native/spec.h (messages in) and launcher.c (events out).
 *
 * A message is a list of records `key=value\0` ended by an empty record `\0`; a `file` record
 * `file=<mode octal>:<size>:<path>\0` is followed by exactly <size> raw bytes.
 * Events are text lines: `ready`, `result k=v ...`, `error <stage>: <message>`; lines that start
 * with `warmbox-launcher: ` on the same stream are the launcher's log, for the operator.
 */

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
  parkedPids: number;
}

export type CgroupPlacement =
  | { version: 'v1'; memory: string; pids: string; cpuacct: string }
  | { version: 'v2'; unified: string }
  | { version: 'none' };

export interface RunMessage {
  argv: string[];
  /** `K=V` entries: exactly the job's environment, nothing of the worker's. */
  env: string[];
  files: { path: string; content: Buffer; mode: number }[];
  wallTimeMs: number;
  cpuTimeMs: number;
  memoryBytes: number;
  pids: number;
  outputBytes: number;
  openFiles: number;
  fileSizeBytes: number;
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
  | { type: 'error'; stage: string; message: string };

function record(key: string, value: string | number): Buffer {
  const text = `${key}=${value}`;
  if (text.includes('\0')) throw new Error(`launcher record ${key} contains a NUL byte`);
  return Buffer.from(`${text}\0`);
}

const END = Buffer.from('\0');

export function encodeSetup(m: SetupMessage): Buffer {
  const parts = [
    ...m.lowerDirs.map((d) => record('lower', d)),
    record('mnt', m.mountDir),
    record('disk_bytes', m.diskBytes),
    record('uid', m.uid),
    record('gid', m.gid),
    record('hostname', m.hostname),
    record('workdir', m.workdir),
    ...cgroupRecords(m.cgroup),
    record('memory_bytes', m.parkedMemoryBytes),
    record('pids', m.parkedPids),
  ];
  return Buffer.concat([...parts, END]);
}

function cgroupRecords(c: CgroupPlacement): Buffer[] {
  switch (c.version) {
    case 'v1':
      return [record('cgroup', 'v1'), record('cgroup_memory', c.memory), record('cgroup_pids', c.pids), record('cgroup_cpuacct', c.cpuacct)];
    case 'v2':
      return [record('cgroup', 'v2'), record('cgroup_unified', c.unified)];
    case 'none':
      return [record('cgroup', 'none')];
  }
}

export function encodeRun(m: RunMessage): Buffer {
  const parts: Buffer[] = [
    ...m.argv.map((a) => record('arg', a)),
    ...m.env.map((e) => record('env', e)),
    record('wall_ms', m.wallTimeMs),
    record('cpu_ms', m.cpuTimeMs),
    record('memory_bytes', m.memoryBytes),
    record('pids', m.pids),
    record('output_bytes', m.outputBytes),
    record('nofile', m.openFiles),
    record('fsize_bytes', m.fileSizeBytes),
  ];
  for (const f of m.files) {
    parts.push(record('file', `${(f.mode & 0o777).toString(8)}:${f.content.length}:${f.path}`), f.content);
  }
  return Buffer.concat([...parts, END]);
}

export function parseEvent(line: string): LauncherEvent {
  if (line === 'ready') return { type: 'ready' };
  if (line.startsWith('result ')) return { type: 'result', result: parseResult(line.slice(7)) };
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
