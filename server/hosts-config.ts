/**
 * How processes on different hosts reach each other (README "Workers on many hosts"):
 *
 * - WARMBOX_API_URL: where a worker-only process reaches the API (`http://warmbox-api:8080`), to
 *   fetch the blobs its host lacks (jobs' stdin and files, imported archives, images another worker
 *   made) and to hand on what it makes. Unset: the worker reads them from its own data directory,
 *   which must then be the API's (one host, or a shared disk), as before.
 * - WARMBOX_WORKER_TOKEN: the secret the workers present to the API's internal routes
 *   (`/internal/v1/...`, `Authorization: Bearer <token>`), at least 32 characters. The API serves
 *   those routes only when it is set; a worker with WARMBOX_API_URL needs it.
 * - WARMBOX_ADVERTISE_URL: where the other API processes reach this one (`http://10.0.3.7:8080`, a
 *   pod's own address), when there are several behind one address: each keeps the blobs uploaded
 *   to it, and one asked for a blob it lacks fetches it from its peers (api/peer-blobs.ts).
 */
import type { Role } from './config.js';

export interface HostsConfig {
  /** The API's base URL, for a worker-only process; absent: blobs are read from this host's data directory. */
  apiUrl?: string;
  /** The internal routes' secret; absent: an API serves no internal route. */
  workerToken?: string;
  /** This API process's own address for its peers; absent: it is not asked by them. */
  advertiseUrl?: string;
}

export const WORKER_TOKEN_MIN_LENGTH = 32;

export function hostsConfigFromEnv(env: NodeJS.ProcessEnv, role: Role): HostsConfig {
  const apiUrl = nonEmpty(env.WARMBOX_API_URL);
  const workerToken = nonEmpty(env.WARMBOX_WORKER_TOKEN);
  const advertiseUrl = nonEmpty(env.WARMBOX_ADVERTISE_URL)?.replace(/\/+$/, '');
  if (advertiseUrl !== undefined) {
    // Not parsed further: Kubernetes fills in `$(POD_IP)` only in the pod.
    if (!/^https?:\/\/\S+$/.test(advertiseUrl)) throw new Error(`invalid configuration: WARMBOX_ADVERTISE_URL=${JSON.stringify(advertiseUrl)}: expected an http(s) URL, e.g. http://10.0.3.7:8080`);
    if (role === 'worker') throw new Error('invalid configuration: WARMBOX_ADVERTISE_URL is an API process\'s address (WARMBOX_ROLE=api or all); a worker serves nothing');
    if (workerToken === undefined) throw new Error('invalid configuration: WARMBOX_ADVERTISE_URL needs WARMBOX_WORKER_TOKEN: the API processes fetch blobs from each other with it');
  }
  if (workerToken !== undefined && (workerToken.length < WORKER_TOKEN_MIN_LENGTH || /\s/.test(workerToken))) {
    throw new Error(`invalid configuration: WARMBOX_WORKER_TOKEN must be at least ${WORKER_TOKEN_MIN_LENGTH} characters without spaces (\`openssl rand -hex 32\` makes one)`);
  }
  if (apiUrl === undefined) return { ...(workerToken !== undefined && { workerToken }), ...(advertiseUrl !== undefined && { advertiseUrl }) };
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new Error(`invalid configuration: WARMBOX_API_URL=${JSON.stringify(apiUrl)}: expected an http(s) URL, e.g. http://warmbox-api:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid configuration: WARMBOX_API_URL must be http or https, not ${url.protocol}`);
  if (role === 'api') throw new Error('invalid configuration: WARMBOX_API_URL is for worker-only processes (WARMBOX_ROLE=worker); an API serves its own blobs');
  if (role === 'all') throw new Error('invalid configuration: WARMBOX_API_URL is for worker-only processes (WARMBOX_ROLE=worker): a process with the API reads its own blob store');
  if (workerToken === undefined) throw new Error('invalid configuration: WARMBOX_API_URL needs WARMBOX_WORKER_TOKEN, the secret the API\'s internal routes take (the same on the API)');
  return { apiUrl: url.href.replace(/\/+$/, ''), workerToken };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
