/** `warmbox ps`: the jobs queued and running (`-a`: all recent ones), like `docker ps`. */
import { parseArgs } from 'node:util';
import type { z } from '@hono/zod-openapi';
import type { jobListSchema } from '../../api/schemas/job-list.js';
import { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';
import { UsageError } from '../units.js';

export const PS_HELP = `Usage: warmbox ps [OPTIONS]

List jobs, newest first: those queued or running (like docker ps); -a for every recent one.

Options:
  -a, --all                Show finished jobs too
  -n, --last N             Show at most N jobs (default 50 with -a, every unfinished one without)
  -f, --filter KEY=VALUE   label=K=V, image=IMAGE, status=STATUS, verdict=VERDICT (repeatable)
  -q, --quiet              Only the job ids
      --format FORMAT      'table' (default) or 'json' (one JSON object per line)
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help               Show this help

Columns: JOB ID, IMAGE, STATUS (queued, running, or the verdict and exit code once finished),
CREATED (how long ago), NAME (the job's 'name' label: warmbox run --name).`;

type JobList = z.infer<typeof jobListSchema>;
type JobSummary = JobList['jobs'][number];

const FILTER_KEYS = new Set(['label', 'image', 'status', 'verdict']);
const PAGE = 200;

export async function psCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      all: { type: 'boolean', short: 'a' },
      last: { type: 'string', short: 'n' },
      filter: { type: 'string', short: 'f', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
      format: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(PS_HELP);
    return 0;
  }
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format: expected table or json, got ${JSON.stringify(format)}`);
  const last = values.last === undefined ? (values.all ? 50 : Infinity) : Number(values.last);
  if (!(last === Infinity || (Number.isInteger(last) && last > 0))) throw new UsageError(`--last: expected a positive number, got ${JSON.stringify(values.last)}`);
  const jobs = await listJobs(new ApiClient(values.url), query(values.all === true, values.filter ?? []), last);
  if (values.quiet) for (const j of jobs) console.log(j.id);
  else if (format === 'json') for (const j of jobs) console.log(JSON.stringify(j));
  else console.log(formatTable([['JOB ID', 'IMAGE', 'STATUS', 'CREATED', 'NAME'], ...jobs.map(row)]));
  return 0;
}

function query(all: boolean, filters: string[]): URLSearchParams {
  const q = new URLSearchParams();
  if (!all && !filters.some((f) => f.startsWith('status='))) q.set('status', 'queued,running');
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = f.slice(0, eq);
    if (eq < 1 || !FILTER_KEYS.has(key)) throw new UsageError(`--filter: expected label=K=V, image=, status= or verdict=, got ${JSON.stringify(f)}`);
    q.append(key, f.slice(eq + 1));
  }
  return q;
}

/** Pages through GET /v1/jobs until `last` jobs or the end. */
async function listJobs(client: ApiClient, q: URLSearchParams, last: number): Promise<JobSummary[]> {
  const jobs: JobSummary[] = [];
  let cursor: string | null = null;
  do {
    const page = new URLSearchParams(q);
    page.set('limit', String(Math.min(PAGE, last - jobs.length)));
    if (cursor !== null) page.set('cursor', cursor);
    const res: JobList = await client.request<JobList>('GET', `/v1/jobs?${page}`);
    jobs.push(...res.jobs);
    cursor = res.next;
  } while (cursor !== null && jobs.length < last);
  return jobs;
}

function row(j: JobSummary): string[] {
  return [j.id, shortImage(j.image), status(j), `${ago(Date.parse(j.createdAt))} ago`, j.labels.name ?? ''];
}

function status(j: JobSummary): string {
  if (j.status !== 'finished') return j.status;
  return j.exitCode === null ? `${j.verdict}` : `${j.verdict} (${j.exitCode})`;
}

/** As docker shows Docker Hub's official images: busybox:latest. */
function shortImage(image: string): string {
  return image.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  if (s < 3600) return `${Math.round(s / 60)} minute${Math.round(s / 60) === 1 ? '' : 's'}`;
  if (s < 86400) return `${Math.round(s / 3600)} hour${Math.round(s / 3600) === 1 ? '' : 's'}`;
  return `${Math.round(s / 86400)} days`;
}
