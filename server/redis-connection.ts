/** Redis connections from a URL (redis://, rediss://, unix:///path), checked once at start. */
import { Redis, type RedisOptions } from 'ioredis';

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

export function redisOptions(url: string): RedisOptions {
  // BullMQ requires maxRetriesPerRequest: null on the connections it blocks on.
  const base: RedisOptions = { maxRetriesPerRequest: null, enableAutoPipelining: true };
  if (url.startsWith('unix://')) return { ...base, path: url.slice('unix://'.length) };
  const u = new URL(url);
  return {
    ...base,
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/** Connects and PINGs, failing with one clear line instead of retrying forever. */
export async function connectRedis(url: string, timeoutMs = 3000): Promise<Redis> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null });
  redis.on('error', () => {}); // reported by the awaited connect below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new RedisUnreachableError(`cannot reach Redis at ${url}: ${(err as Error).message}`);
  }
  // Reachable: from now on, reconnect after transient failures like any long-lived client.
  redis.options.retryStrategy = (times: number) => Math.min(times * 100, 2000);
  return redis;
}
