/**
 * Two sandboxes run at once with their jobs talking to each other (an interactive problem): A's
 * stdout is B's stdin and B's stdout is A's stdin. Each job keeps its own sandbox (namespaces,
 * cgroup, limits, supervisor); nothing of one is ever in the other. The bytes go job → its pipe →
 * its supervisor → this process → the other supervisor → the other job's pipe: no fd, FIFO or
 * path is shared between the sandboxes, so a hostile job reaches only its own pipe ends.
 *
 * Why the relay never deadlocks:
 * - Each direction is a stream pipe with backpressure, as a kernel pipe would be: a job that
 *   writes while the other does not read ends up blocked (its supervisor stops reading its pipe),
 *   and its own wall limit ends it.
 * - A side that ends (exits, is killed, or its sandbox fails) ends the other side's stdin: that job
 *   reads EOF. What a job writes after the other side is gone is read and dropped, never left to
 *   block it (a kernel pipe would give it EPIPE; no job here sees SIGPIPE from the relay).
 * - A supervisor blocked on a full stream does not watch its wall clock, so once the later of the
 *   two wall limits (and a grace) has passed, both directions drop what comes: every supervisor
 *   is free to see its deadline and report.
 * - A run that fails (the sandbox broke) cancels the other: a pair ends together. A cancel (the
 *   job's, or this) drops what the relay holds first, so that a blocked supervisor reads it.
 */
import type { Readable, Writable } from 'node:stream';
import type { RunRequest, RunResult, Sandbox } from './sandbox.js';

/** A side's request: its stdin is the other side's stdout. */
export type PairRequest = Omit<RunRequest, 'stdin' | 'connect'>;

/** After the later wall limit, how long the relay still carries bytes before it drops them. */
const RELAY_GRACE_MS = 2_000;

interface JobStreams {
  stdin: Writable;
  stdout: Readable;
}

/** Runs A and B connected; resolves with both results once both have ended. */
export async function runPair(a: Sandbox, aRequest: PairRequest, b: Sandbox, bRequest: PairRequest): Promise<[RunResult, RunResult]> {
  const together = new AbortController();
  let aStreams: JobStreams | undefined;
  const relays: Relay[] = [];
  const run = (box: Sandbox, request: PairRequest, connect: (s: JobStreams) => void): Promise<RunResult> => {
    const signal = request.signal ? AbortSignal.any([request.signal, together.signal]) : together.signal;
    const running = box.run({ ...request, stdin: Buffer.alloc(0), signal, connect });
    running.catch(() => together.abort());
    return running;
  };
  // Both run() calls connect synchronously, in this tick: no byte of either job is read before both ends are wired.
  const aRun = run(a, aRequest, (s) => (aStreams = s));
  const bRun = run(b, bRequest, (s) => {
    relays.push(new Relay(aStreams!.stdout, s.stdin), new Relay(s.stdout, aStreams!.stdin));
  });
  const dropAll = (): void => relays.forEach((r) => r.drop());
  const watchdog = setTimeout(dropAll, Math.max(aRequest.wallTimeMs, bRequest.wallTimeMs) + RELAY_GRACE_MS);
  // A cancel must reach supervisors that are blocked writing: free them first.
  const signals = [together.signal, aRequest.signal, bRequest.signal].filter((s) => s !== undefined);
  for (const s of signals) s.addEventListener('abort', dropAll, { once: true });
  try {
    const [aResult, bResult] = await Promise.allSettled([aRun, bRun]);
    if (aResult.status === 'rejected') throw aResult.reason;
    if (bResult.status === 'rejected') throw bResult.reason;
    return [aResult.value, bResult.value];
  } finally {
    clearTimeout(watchdog);
    for (const s of signals) s.removeEventListener('abort', dropAll);
    dropAll();
  }
}

/** One direction: a job's stdout into the other job's stdin, with backpressure until dropped. */
class Relay {
  private dropping = false;

  constructor(
    private readonly from: Readable,
    private readonly to: Writable,
  ) {
    from.pipe(to);
    // A side whose sandbox is torn down closes without an orderly end: the other still reads EOF.
    from.once('close', () => to.end());
    // The receiving side is gone: what its peer still writes is read and dropped, never left to block it.
    to.once('close', () => this.drop());
  }

  drop(): void {
    if (this.dropping) return;
    this.dropping = true;
    this.from.unpipe(this.to);
    this.from.resume();
  }
}
