/** What a judge run's build or test job wrote, read back from its job row, for the Piston and Judge0 answers. */
import type { JobResult } from '../../contract/job-payload.js';
import { getJob } from '../../db/jobs.js';
import type { WarmboxDb } from '../../db/client.js';
import { toJobView } from '../job-view.js';

export interface JobOutput {
  stdout: Buffer;
  stderr: Buffer;
  result: JobResult;
}

/** Undefined while the job has not finished (or when it is gone). */
export async function jobOutput(db: WarmboxDb, jobId: string | undefined): Promise<JobOutput | undefined> {
  const row = jobId === undefined ? undefined : await getJob(db, jobId);
  const result = row && toJobView(row).result;
  if (result === null || result === undefined) return undefined;
  return { result, stdout: bytes(result.stdout, result.stdoutEncoding), stderr: bytes(result.stderr, result.stderrEncoding) };
}

function bytes(text: string, encoding: 'base64' | undefined): Buffer {
  return Buffer.from(text, encoding === 'base64' ? 'base64' : 'utf8');
}

/** Splits a command line the way Judge0's and Piston's users expect of flags: on whitespace, no shell. */
export function words(line: string | null | undefined): string[] {
  return (line ?? '').split(/\s+/).filter((w) => w !== '');
}
