/**
 * An open-loop load generator: jobs are sent on a fixed schedule whether or not earlier ones have
 * been answered (a slow answer never delays the next send — closed-loop clients hide queueing
 * that way). One keep-alive agent without a socket limit: a send finds an idle connection or
 * opens one.
 */
import { Agent, request } from 'node:http';

export interface JobSample {
  /** When it was sent, ms from the start of the phase, and how late that was against the schedule. */
  sentAtMs: number;
  lateMs: number;
  /** Send until the whole answer was read. */
  latencyMs: number;
  status: number;
  verdict?: string;
  start?: 'warm' | 'cold';
  stdout?: string;
  timings?: { queuedMs: number; pullMs: number; acquireMs: number; runMs: number; totalMs: number };
  error?: string;
  /** The error answer's code, e.g. `overloaded`. */
  code?: string;
}

export interface PhaseRun {
  samples: JobSample[];
  /** First send to last answer, ms. */
  wallMs: number;
}

export class JobClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  private readonly url: URL;

  constructor(baseUrl: string) {
    this.url = new URL('/v1/jobs?wait=true&timeout=60000', baseUrl);
  }

  /** POSTs one job and waits for its answer; never throws (errors are samples too). */
  send(body: string): Promise<Omit<JobSample, 'sentAtMs' | 'lateMs'>> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const done = (s: Omit<JobSample, 'sentAtMs' | 'lateMs' | 'latencyMs'>) => resolve({ latencyMs: performance.now() - t0, ...s });
      const req = request(this.url, { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => done({ status: res.statusCode ?? 0, error: e.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          try {
            const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: JobSample & { timings: JobSample['timings'] }; error?: { message: string; code?: string } };
            const r = job.result;
            done({ status, verdict: r?.verdict, start: r?.start, stdout: r?.stdout, timings: r?.timings, code: job.error?.code, error: job.error?.message ?? (status === 200 ? undefined : `HTTP ${status}`) });
          } catch (e) {
            done({ status, error: `unreadable answer: ${(e as Error).message}` });
          }
        });
      });
      req.on('error', (e) => done({ status: 0, error: e.message }));
      req.end(body);
    });
  }

  /** Sends one job at each offset (ms from now) and resolves when every answer is in. */
  async run(offsetsMs: number[], body: string): Promise<PhaseRun> {
    const pending: Promise<JobSample>[] = [];
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let next = 0;
      const tick = (): void => {
        const now = performance.now() - t0;
        while (next < offsetsMs.length && offsetsMs[next]! <= now) {
          const due = offsetsMs[next++]!;
          const sentAtMs = performance.now() - t0;
          pending.push(this.send(body).then((s) => ({ sentAtMs, lateMs: sentAtMs - due, ...s })));
        }
        if (next >= offsetsMs.length) resolve();
        // setTimeout fires ≥ 1 ms late: aim a little early, then send whatever is due.
        else setTimeout(tick, Math.max(0, offsetsMs[next]! - (performance.now() - t0) - 1));
      };
      tick();
    });
    const samples = await Promise.all(pending);
    return { samples, wallMs: performance.now() - t0 };
  }

  close(): void {
    this.agent.destroy();
  }
}
