/**
 * Load for fault tests: submits jobs to a server that may die and come back at another address,
 * and keeps the id of every job that got a 2xx — the jobs warmbox promised to finish. A refusal
 * (a 4xx/5xx with its error code, or no answer) promises nothing and is only counted.
 *
 *   const load = new JobLoad(() => server?.url, (i) => ({ image: 'busybox', cmd: ['true'] }));
 *   load.start(4);
 *   ... kill something ...
 *   await load.stop();
 *   load.accepted  // ids to settle
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The request body of the i-th job. */
export type JobBody = (i: number) => object;

export class JobLoad {
  readonly accepted: string[] = [];
  /** Refusals by error code (`connection` when the server did not answer). */
  readonly refused = new Map<string, number>();
  private next = 0;
  private running: Promise<void>[] = [];
  private stopping = false;

  constructor(
    private readonly target: () => string | undefined,
    private readonly body: JobBody,
  ) {}

  /** Submits jobs continuously, `parallel` requests in flight, until stop(). */
  start(parallel = 4): void {
    this.stopping = false;
    for (let i = 0; i < parallel; i++) this.running.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    this.running = [];
  }

  /** Resolves once at least n jobs have been accepted in all. */
  async untilAccepted(n: number, boundMs = 60_000): Promise<void> {
    for (const deadline = Date.now() + boundMs; this.accepted.length < n; await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`only ${this.accepted.length} of ${n} jobs accepted within ${boundMs} ms; refused: ${JSON.stringify(Object.fromEntries(this.refused))}`);
    }
  }

  get refusedTotal(): number {
    return [...this.refused.values()].reduce((a, b) => a + b, 0);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) await this.submitOne(this.next++);
  }

  private async submitOne(i: number): Promise<void> {
    const url = this.target();
    if (url === undefined) return this.refuse('no_server', 50);
    let res: Response;
    try {
      res = await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.body(i)),
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      return this.refuse('connection', 50);
    }
    const answer = (await res.json().catch(() => ({}))) as { id?: string; error?: { code?: string } };
    if (res.ok && typeof answer.id === 'string') this.accepted.push(answer.id);
    else await this.refuse(answer.error?.code ?? `http_${res.status}`, 20);
  }

  /** Counts a refusal and backs off a little, as a client would. */
  private async refuse(code: string, backoffMs: number): Promise<void> {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
    await sleep(backoffMs);
  }
}
