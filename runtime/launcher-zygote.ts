/**
 * The worker's one long-lived launcher process (native/zygote.c). Asked for a sandbox by id, it
 * forks a supervisor that connects back to this unix socket three times (control, stdin, output).
 * Node never forks: spawning from a big Node process blocks its event loop for ~2 ms, longer than
 * building a whole sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Writable } from 'node:stream';

export interface SandboxStreams {
  /** Setup, run and kill messages in; events and the launcher's log lines out. */
  control: Socket;
  stdin: Socket;
  /** The job's stdout and stderr, in frames (runtime/sandbox-output.ts). */
  output: Socket;
}

const STREAMS = ['control', 'stdin', 'output'] as const;
type StreamName = (typeof STREAMS)[number];
const CONNECT_TIMEOUT_MS = 10_000;
/** The hello's stream name of the zygote's answer to a ping (native/zygote.c). */
const PONG = 'pong';
const HELLO_MAX = 128;

interface Pending {
  streams: Partial<Record<StreamName, Socket>>;
  resolve(s: SandboxStreams): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class LauncherZygoteError extends Error {
  override name = 'LauncherZygoteError';
}

export class LauncherZygote {
  private readonly pending = new Map<string, Pending>();
  private readonly pings = new Map<string, () => void>();
  private pingSeq = 0;
  private child?: ChildProcess;
  private closing = false;

  private constructor(
    private readonly launcherPath: string,
    private readonly socketPath: string,
    private readonly server: Server,
    private readonly onLog: (line: string) => void,
  ) {}

  static async start(launcherPath: string, socketPath: string, onLog: (line: string) => void = () => {}): Promise<LauncherZygote> {
    rmSync(socketPath, { force: true });
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600); // only root (the launcher) may connect
    const zygote = new LauncherZygote(launcherPath, socketPath, server, onLog);
    server.on('connection', (socket) => zygote.accept(socket));
    zygote.ensureChild();
    return zygote;
  }

  /** Has the zygote fork a supervisor for `id` and resolves with its three connections. */
  open(id: string): Promise<SandboxStreams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(id, new LauncherZygoteError(`the launcher did not connect for sandbox ${id} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      this.pending.set(id, { streams: {}, resolve, reject, timer });
      (this.ensureChild().stdin as Writable).write(`${id}\n`);
    });
  }

  /**
   * Resolves once the zygote answered a ping (it reads its stdin and reaches the socket, as a
   * sandbox request needs); rejects after timeoutMs, or when the zygote cannot be started.
   */
  ping(timeoutMs: number): Promise<void> {
    const token = `ping-${process.pid}-${++this.pingSeq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(token);
        reject(new LauncherZygoteError(`the launcher zygote did not answer a ping within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(token, () => {
        clearTimeout(timer);
        this.pings.delete(token);
        resolve();
      });
      try {
        (this.ensureChild().stdin as Writable).write(`?${token}\n`);
      } catch (err) {
        clearTimeout(timer);
        this.pings.delete(token);
        reject(err as Error);
      }
    });
  }

  /** The zygote's pid, while it runs. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const id of [...this.pending.keys()]) this.fail(id, new LauncherZygoteError('the launcher zygote is closing'));
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      (child.stdin as Writable).end(); // EOF: the zygote exits, and every supervisor it forked tears its sandbox down
      await exited;
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }

  /**
   * For a process that must exit now: SIGKILL to the zygote and to every supervisor it forked,
   * synchronously (their sandboxes' inits follow by their parent-death signal; the caller removes
   * the cgroups). The supervisors are found before the zygote dies, while they are its children.
   */
  killNow(): void {
    this.closing = true;
    const pid = this.child?.pid;
    if (pid === undefined || this.child!.exitCode !== null || this.child!.signalCode !== null) return;
    for (const p of [pid, ...childrenOf(pid)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }

  private ensureChild(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    if (this.closing) throw new LauncherZygoteError('the launcher zygote is closed');
    const child = spawn(this.launcherPath, ['--zygote', this.socketPath], { stdio: ['pipe', 'ignore', 'pipe'], env: {} });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => d.split('\n').filter(Boolean).forEach(this.onLog));
    (child.stdin as Writable).on('error', () => {});
    child.on('error', (e) => this.failAll(new LauncherZygoteError(`cannot start the launcher ${this.launcherPath}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (this.closing) return;
      // Its supervisors tear their sandboxes down (their parent-death signal); the next open() starts a new zygote.
      this.onLog(`the launcher zygote exited (${signal ?? `code ${code}`}); its sandboxes were torn down`);
      this.failAll(new LauncherZygoteError(`the launcher zygote exited (${signal ?? `code ${code}`})`));
    });
    this.child = child;
    return child;
  }

  /** Reads a connection's hello line `<id> <stream>` and files the socket under its sandbox. */
  private accept(socket: Socket): void {
    let hello = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk]);
      const nl = hello.indexOf(0x0a);
      if (nl < 0) {
        if (hello.length > HELLO_MAX) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const rest = hello.subarray(nl + 1);
      if (rest.length) socket.unshift(rest);
      this.file(socket, hello.subarray(0, nl).toString());
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  }

  private file(socket: Socket, hello: string): void {
    const [id, stream] = hello.split(' ') as [string, StreamName];
    if ((stream as string) === PONG) {
      socket.destroy();
      this.pings.get(id)?.();
      return;
    }
    const p = this.pending.get(id);
    if (!p || !STREAMS.includes(stream) || p.streams[stream]) {
      socket.destroy();
      return;
    }
    p.streams[stream] = socket;
    if (STREAMS.every((s) => p.streams[s])) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(p.streams as SandboxStreams);
    }
  }

  private fail(id: string, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    for (const s of Object.values(p.streams)) s.destroy();
    p.reject(err);
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }
}

/** A single-threaded process's children (Linux 3.5+, /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
