/** `warmbox wait JOB...`: block until jobs end, print each one's exit status, like `docker wait`. */
import { parseArgs } from 'node:util';
import { ApiClient } from '../api-client.js';
import { streamOutput, type JobView } from '../job-output.js';
import { UsageError } from '../units.js';
import { exitStatus } from './run.js';

export const WAIT_HELP = `Usage: warmbox wait [OPTIONS] JOB [JOB...]

Block until each job ends, then print its exit status (one line per job, in order), and exit
with the last one's: the job's own code; 128+N when a signal N ended it; 137 when a limit killed it;
130 when it was cancelled; 125 when warmbox could not run it.

Options:
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help               Show this help`;

export async function waitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    console.log(WAIT_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('"warmbox wait" requires at least one JOB id (see warmbox wait --help)');
  const client = new ApiClient(values.url);
  let status = 0;
  for (const id of positionals) {
    let job = await client.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    if (job.status !== 'finished') job = (await streamOutput(client, id, { print: false })) ?? job;
    status = exitStatus(job);
    console.log(status);
  }
  return status;
}
