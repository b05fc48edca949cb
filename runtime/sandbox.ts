/**
 * One single-use sandbox: a launcher supervisor (forked by the zygote, connected back over three
 * sockets: control, stdin, and output for the job's stdout and stderr) that builds the sandbox and
 * parks it (`create`), runs exactly one command in it (`run`), and is gone afterwards. A parked
 * sandbox that is never used is torn down by `destroy`.
 */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { LauncherZygote, SandboxStreams } from './launcher-zygote.js';
import { readOutput, stdoutStream } from './sandbox-output.js';
import { EventLines, LOG_PREFIX } from './launcher-event-lines.js';
import {
  encodeRun,
  encodeSetup,
  type LauncherEvent,
  type LauncherResult,
  type RunMessage,
  type SetupMessage,
} from './launcher-protocol.js';
import type { Verdict } from '../contract/verdict.js';
import { SandboxError } from './sandbox-error.js';
import { UnusableWorkdirError } from './unusable-workdir-error.js';
import { internalErrorOf, verdictOf } from './verdict-of.js';

export { SandboxError } from './sandbox-error.js';

export interface RunRequest extends Omit<RunMessage, 'files'> {
  files: RunMessage['files'];
  stdin: Buffer;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /**
   * An interactive pair's wiring (sandbox-pair.ts): called, before the command starts, with the
   * job's stdin and stdout as this process sees them, instead of `stdin` (then empty) being written
   * and closed. The job's stdout is still collected (up to outputBytes) for the result.
   */
  connect?: (job: { stdin: Writable; stdout: Readable }) => void;
}

export interface RunResult {
  verdict: Verdict;
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  usage: { cpuTimeMs: number; wallTimeMs: number; memoryPeakBytes: number };
  /** For `internal_error`: what went wrong, for the operator. */
  error?: string;
  /** The launcher's raw report, for diagnostics. */
  launcher: LauncherResult;
  /** A capture run's writable layer (RunRequest.capture); absent when the launcher could not keep it. */
  writableLayer?: WritableLayer;
}

/**
 * The writable layer of a finished capture run, readable by the host at `upperDir` (an overlayfs
 * upper directory: whiteouts as 0:0 character devices) until release(). Every process of the
 * sandbox is gone: nothing changes it any more. Its content is the job's: read it without following
 * its symlinks (images/store/layer-tar.ts walks it with lstat).
 */
export interface WritableLayer {
  upperDir: string;
  release(): Promise<void>;
}

const DIAGNOSTICS_CAP = 16 * 1024;

export class Sandbox {
  private used = false;
  private readonly events = new EventLines((line) => this.log(line));
  private diagnostics = '';
  private exited = false;
  /** Resolves when the launcher has exited: namespaces gone, cgroups removed. */
  readonly closed: Promise<void>;

  private constructor(private readonly io: SandboxStreams) {
    io.control.setEncoding('utf8');
    io.control.on('data', (text: string) => this.events.push(text));
    io.control.resume(); // the zygote paused it after reading the connection's hello line
    // Our ends of the job's streams close once the launcher closed theirs.
    for (const s of [io.stdin, io.output]) s.on('end', () => s.end());
    this.closed = new Promise((resolve) =>
      io.control.once('close', () => {
        this.exited = true;
        for (const s of [io.stdin, io.output]) s.destroy();
        this.events.end(); // closed by an error (ECONNRESET), without an end: no more events either
        resolve();
      }),
    );
    io.control.on('end', () => {
      this.events.end();
      io.control.end();
    });
  }

  /**
   * Whether the supervisor said it removed the sandbox's cgroups (its `gone`, just before it
   * exits): once `closed`, the runtime then need not look for them.
   */
  get cgroupsRemoved(): boolean {
    return this.events.gone;
  }

  /** Builds a sandbox through the zygote and waits until it is parked, ready for a command. */
  static async create(zygote: LauncherZygote, id: string, setup: SetupMessage): Promise<Sandbox> {
    const box = new Sandbox(await zygote.open(id));
    box.io.control.write(encodeSetup(setup));
    const first = await box.nextEvent();
    if (first.type !== 'ready') {
      await box.destroy(); // the supervisor waits for our hang-up before it exits
      throw box.failure(first, setup.workdir);
    }
    return box;
  }

  /** False once the launcher has exited (a parked sandbox can die, e.g. killed by an operator). */
  get alive(): boolean {
    return !this.exited;
  }

  /** Runs one command; a sandbox runs at most one. */
  async run(req: RunRequest): Promise<RunResult> {
    if (this.used) throw new SandboxError('a sandbox runs one command only');
    this.used = true;
    const stdout = new CappedSink(req.outputBytes, req.onStdout);
    const stderr = new CappedSink(req.stderrBytes, req.onStderr);
    const jobStdout = req.connect ? stdoutStream(this.io.output) : undefined;
    const outputsDone = readOutput(this.io.output, (channel, chunk) => (channel === 'stdout' ? stdout : stderr).push(chunk), jobStdout);
    const cancel = (): void => void this.io.control.write('k');
    req.signal?.addEventListener('abort', cancel, { once: true });
    this.io.control.write(encodeRun(req));
    if (req.signal?.aborted) cancel();
    // An empty stdin is only a FIN: a zero-byte write would wake the supervisor once more.
    if (req.connect) req.connect({ stdin: this.io.stdin, stdout: jobStdout! });
    else if (req.stdin.length) this.io.stdin.end(req.stdin);
    else this.io.stdin.end();
    let held = false;
    try {
      let ev = await this.nextEvent();
      const capture = ev.type === 'capture' ? ev : undefined;
      if (capture) ev = await this.nextEvent();
      if (ev.type !== 'result') throw this.failure(ev);
      await outputsDone;
      const result = toRunResult(ev.result, stdout.bytes(), stderr.bytes());
      if (!capture) return result;
      held = true;
      return { ...result, writableLayer: { upperDir: capture.path, release: () => this.destroy() } };
    } finally {
      req.signal?.removeEventListener('abort', cancel);
      if (!held) this.io.control.end();
    }
  }

  /** Tears down a sandbox that will not be used (or is being abandoned). */
  async destroy(): Promise<void> {
    this.used = true;
    this.io.control.end();
    await this.closed;
  }

  private log(line: string): void {
    if (this.diagnostics.length < DIAGNOSTICS_CAP) this.diagnostics += `${line}\n`;
  }

  private async nextEvent(): Promise<LauncherEvent> {
    const next = await this.events.next();
    if (next === undefined) {
      // The connection closes without a word only when the supervisor and the init are both gone:
      // the init holds it too (its log), and dies with its supervisor (native/contain.c).
      await this.closed;
      return { type: 'error', stage: 'launcher', message: "the sandbox's supervisor died before it reported; the sandbox was killed" };
    }
    return next;
  }

  private failure(ev: LauncherEvent, workdir?: string): SandboxError {
    const log = this.diagnostics.trim();
    // The init names the working directory as the step that failed (init.c, contain.h): the image's doing.
    if (ev.type === 'error' && ev.stage === 'setup' && ev.message.startsWith('workdir failed') && workdir !== undefined) {
      const why = log.split('\n').at(-1)?.replace(LOG_PREFIX, '') ?? 'the launcher could not make it';
      return new UnusableWorkdirError(`the working directory ${JSON.stringify(workdir)} cannot be used: ${why}`);
    }
    const detail = ev.type === 'error' ? `${ev.stage}: ${ev.message}` : `unexpected event ${ev.type}`;
    return new SandboxError(`sandbox failed: ${detail}${log ? `\n${log}` : ''}`);
  }
}

/** Collects a stream up to a byte cap (the launcher enforces the limit; this keeps Node bounded too). */
class CappedSink {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly cap: number,
    private readonly onChunk?: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
    this.onChunk?.(kept);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

function toRunResult(r: LauncherResult, stdout: Buffer, stderr: Buffer): RunResult {
  const error = internalErrorOf(r);
  return {
    verdict: verdictOf(r),
    ...(error && { error }),
    exitCode: r.status === 'exited' ? r.code : null,
    signal: r.status === 'signaled' ? signalName(r.signal) : r.status === 'killed' ? 'SIGKILL' : null,
    stdout,
    stderr,
    stdoutTruncated: r.truncated === 'stdout',
    stderrTruncated: r.truncated === 'stderr',
    usage: { cpuTimeMs: r.cpuUs / 1000, wallTimeMs: r.wallUs / 1000, memoryPeakBytes: r.memoryPeakBytes },
    launcher: r,
  };
}

function signalName(n: number): string {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `SIG${n}`;
}
