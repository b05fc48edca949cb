/** `warmbox worker`: a worker only (`warmbox server --role worker`), on a shared Redis. */
import { serveUntilSignalled } from './server.js';

export const WORKER_HELP = `Usage: warmbox worker [OPTIONS]

Start a worker without an API: it takes jobs from the shared queue in Redis, runs them in
sandboxes, and keeps warm pools in step with the other workers. It opens no HTTP port; see it
with 'warmbox pools'. Stop it with SIGTERM or SIGINT: it takes no new job, lets its running jobs
finish within the grace period (then kills them: they end 'lost'), returns jobs it had not
started to the queue, destroys its parked sandboxes and leaves the pool listing. A second signal
exits at once (130 or 143), every sandbox killed.

Start as many as you like, on one host or several; they need one Redis and one db with the API.
On a host of its own (its own data directory), give it the API's URL and the workers' token
(WARMBOX_WORKER_TOKEN, the API's): it fetches from the API what its host lacks (jobs' blobs,
imported images, builds made elsewhere) and hands on what it builds.

Options (each overrides its environment variable):
      --redis-url URL      Redis shared with the API (WARMBOX_REDIS_URL, required)
      --api-url URL        The API, for a worker on a host of its own (WARMBOX_API_URL)
      --data DIR           Data directory (WARMBOX_DATA, default /var/lib/warmbox as root)
      --concurrency N      Jobs run at once by this worker (WARMBOX_CONCURRENCY, default 8)
      --stop-grace-ms MS   How long running jobs get to finish on a stop (WARMBOX_STOP_GRACE_MS,
                           default 30000)
  -h, --help               Show this help

Pools: WARMBOX_POOL_MIN, WARMBOX_POOL_MAX, WARMBOX_POOL_MAX_TOTAL, WARMBOX_PREWARM as for
'warmbox server'; bounds set with 'warmbox pools set' apply to every worker.`;

export async function workerCommand(args: string[]): Promise<number> {
  return serveUntilSignalled(args, WORKER_HELP, ['redis-url', 'api-url', 'data', 'concurrency', 'stop-grace-ms'], 'worker');
}
