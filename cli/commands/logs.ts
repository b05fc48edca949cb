/** `warmbox logs [-f] JOB`: a job's output, like `docker logs`. */
import { parseArgs } from 'node:util';
import { ApiClient } from '../api-client.js';
import { printResultOutput, streamOutput, type JobView } from '../job-output.js';
import { UsageError } from '../units.js';

export const LOGS_HELP = `Usage: warmbox logs [OPTIONS] JOB

Print a job's output: its stdout to stdout and its stderr to stderr, as it wrote them.
A finished job's output is its recorded result (capped at its outputBytes limit).

Options:
  -f, --follow             Follow the output of a queued or running job until it ends
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help               Show this help

Without -f, a job that has not finished shows what it has written so far.`;

/** How long the events stream stays silent before its replay of what was written counts as over (without -f). */
const CAUGHT_UP_MS = 300;

export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { follow: { type: 'boolean', short: 'f' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(LOGS_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('"warmbox logs" requires exactly one JOB id (see warmbox logs --help)');
  const id = positionals[0]!;
  const client = new ApiClient(values.url);
  const job = await client.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  if (job.status === 'finished') {
    printResultOutput(job);
    return 0;
  }
  await streamOutput(client, id, { print: true, quietMs: values.follow ? undefined : CAUGHT_UP_MS });
  return 0;
}
