/**
 * A job's output on this terminal, as `docker run` and `docker logs` show it: stdout to stdout,
 * stderr to stderr, bytes as the job wrote them. Live from the job's events, or from its result.
 */
import type { ApiClient } from './api-client.js';

/** The part of GET /v1/jobs/{id} the CLI reads. */
export interface JobView {
  id: string;
  status: string;
  result?: {
    verdict: string;
    exitCode: number | null;
    signal: string | null;
    error?: string;
    stdout?: string;
    stderr?: string;
    stdoutEncoding?: 'base64';
    stderrEncoding?: 'base64';
  } | null;
}

export interface StreamOptions {
  /** Write the chunks (false: only wait for the end). */
  print: boolean;
  /** Stop once the stream has been silent this long (the replay of what was written is over). Absent: until the end. */
  quietMs?: number;
}

const decode = (data: string, encoding?: string) => Buffer.from(data, encoding === 'base64' ? 'base64' : 'utf8');

/** Streams the job's output (from its start) as it comes; resolves with the finished job, or undefined when it stopped before. */
export async function streamOutput(client: ApiClient, id: string, opts: StreamOptions): Promise<JobView | undefined> {
  const stop = new AbortController();
  let quiet: NodeJS.Timeout | undefined;
  const rearm = () => {
    if (opts.quietMs === undefined) return;
    clearTimeout(quiet);
    quiet = setTimeout(() => stop.abort(), opts.quietMs);
  };
  rearm();
  try {
    for await (const ev of client.events(`/v1/jobs/${encodeURIComponent(id)}/events`, stop.signal)) {
      rearm();
      if (ev.event === 'end') return JSON.parse(ev.data) as JobView;
      if (!opts.print || (ev.event !== 'stdout' && ev.event !== 'stderr')) continue;
      const chunk = JSON.parse(ev.data) as { data: string; encoding?: string };
      (ev.event === 'stdout' ? process.stdout : process.stderr).write(decode(chunk.data, chunk.encoding));
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    return undefined;
  } finally {
    clearTimeout(quiet);
  }
  return client.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
}

/** A finished job's recorded output. */
export function printResultOutput(job: JobView): void {
  const r = job.result;
  if (!r) return;
  if (r.stdout) process.stdout.write(decode(r.stdout, r.stdoutEncoding));
  if (r.stderr) process.stderr.write(decode(r.stderr, r.stderrEncoding));
}
