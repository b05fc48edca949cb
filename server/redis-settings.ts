/**
 * An external Redis's settings, checked once at start (the private one is configured by us). The
 * jobs queue, its locks and the reconcile lock live in Redis:
 *   maxmemory-policy other than noeviction: under memory pressure Redis deletes keys, queued jobs
 *     and live workers' locks among them → refused, unless WARMBOX_REDIS_ALLOW_EVICTION=1.
 *   appendonly no: a restart brings it back empty (or as of its last snapshot) → a warning: the
 *     reconcile sweep queues queued jobs again from the db, but running jobs end `lost`.
 *   CONFIG refused (managed services rename or forbid it) → a warning that nothing was checked.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export const SAMPLE_REDIS_CONF = 'infra/redis/redis.conf';

export class RedisSettingsError extends Error {
  override name = 'RedisSettingsError';
}

export async function checkExternalRedis(redis: Redis, url: string, opts: { allowEviction: boolean }, log: Logger): Promise<void> {
  let policy: string | undefined;
  let appendonly: string | undefined;
  try {
    policy = await configGet(redis, 'maxmemory-policy');
    appendonly = await configGet(redis, 'appendonly');
  } catch (err) {
    log.warn(
      { redis: url, err: (err as Error).message },
      `could not read the settings of the Redis at ${url} (CONFIG GET refused): make sure it has maxmemory-policy noeviction and appendonly yes (see ${SAMPLE_REDIS_CONF})`,
    );
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') checkEviction(url, policy, opts.allowEviction, log);
  if (appendonly === 'no') {
    log.warn(
      { redis: url, appendonly },
      `the Redis at ${url} has appendonly no: if it restarts it comes back empty. Queued jobs are queued again from the db ` +
        `by the reconcile sweep, but jobs running at that moment end with verdict lost. Set appendonly yes (appendfsync everysec; see ${SAMPLE_REDIS_CONF})`,
    );
  }
}

function checkEviction(url: string, policy: string, allowed: boolean, log: Logger): void {
  const why = `the Redis at ${url} has maxmemory-policy ${policy}: under memory pressure it deletes keys, queued jobs and running jobs' locks among them`;
  if (allowed) {
    log.warn({ redis: url, policy }, `${why} (started anyway: WARMBOX_REDIS_ALLOW_EVICTION=1)`);
    return;
  }
  throw new RedisSettingsError(
    `${why}. Set maxmemory-policy noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in its redis.conf: see ${SAMPLE_REDIS_CONF}), ` +
      'or set WARMBOX_REDIS_ALLOW_EVICTION=1 to start anyway',
  );
}

/** One parameter's value; undefined when this Redis does not know it. */
async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', name)) as string[];
  return reply.length >= 2 ? reply[1] : undefined;
}
