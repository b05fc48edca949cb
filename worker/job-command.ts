/** How a job's argv and environment are made from its request and its image, as `docker run` does. */
import type { ImageConfig } from '../contract/stored-image.js';
import type { JobPayload } from '../contract/job-payload.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class NoCommandError extends Error {
  override name = 'NoCommandError';
}

/**
 * Entrypoint, then the request's cmd or else the image's Cmd. A request's own entrypoint replaces
 * the image's and, as with `docker run --entrypoint`, drops the image's Cmd too.
 */
export function argvOf(job: Pick<JobPayload, 'cmd' | 'image' | 'entrypoint'>, config: ImageConfig): string[] {
  const argv = job.entrypoint !== undefined ? [...job.entrypoint, ...(job.cmd ?? [])] : [...config.entrypoint, ...(job.cmd ?? config.cmd)];
  if (argv.length === 0) throw new NoCommandError(`no command given and image ${job.image} has no Entrypoint or Cmd`);
  return argv;
}

/**
 * The image's Env overlaid with the request's. Nothing of the worker's own environment is
 * passed (Judge0 #564); PATH, HOME and HOSTNAME get defaults when neither sets them.
 */
export function envOf(job: Pick<JobPayload, 'env'>, config: ImageConfig): string[] {
  const env = new Map<string, string>();
  for (const entry of [DEFAULT_PATH, 'HOME=/tmp', 'HOSTNAME=warmbox', ...config.env]) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [k, v] of Object.entries(job.env)) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
