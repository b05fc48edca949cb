/**
 * Redis connections from a URL, checked once at start:
 *   redis://[user:password@]host:port[/db]   rediss://… (TLS)   unix:///path/to/socket
 *   redis-sentinel://[user:password@]host:port[,host:port…]/master-name[/db][?sentinelPassword=…]
 * With Sentinel (rediss-sentinel: TLS to both), ioredis asks the sentinels for the master and asks
 * again after a failover; the credentials in the URL are the master's.
 */
import { Redis, type RedisOptions } from 'ioredis';

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** How a connection is used. */
export interface RedisUse {
  /**
   * ioredis's auto-pipelining (default on): the commands of one tick go out as one write. It pays
   * where many commands meet in a tick (an API under load); each batch builds an ioredis Pipeline,
   * which copies every defined script onto itself, so on a connection that sends a few commands at
   * a time (a worker's) it costs more CPU than it saves (BullMQ's own worker at 50 jobs/s: 2.3 ms a
   * job without, 3.65 ms with).
   */
  autoPipelining?: boolean;
}

export function redisOptions(url: string, use: RedisUse = {}): RedisOptions {
  // BullMQ requires maxRetriesPerRequest: null on the connections it blocks on.
  const base: RedisOptions = { maxRetriesPerRequest: null, enableAutoPipelining: use.autoPipelining ?? true };
  if (url.startsWith('unix://')) return { ...base, path: url.slice('unix://'.length) };
  if (SENTINEL_SCHEME.test(url)) return { ...base, ...sentinelOptions(url) };
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

const SENTINEL_SCHEME = /^rediss?-sentinel:\/\//;
const SENTINEL_URL = /^(rediss?)-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)\/([^/?]+)(?:\/(\d+))?(?:\?(.*))?$/;

/** `redis-sentinel://[user:password@]host:port[,host:port…]/master-name[/db][?sentinelPassword=…]`. */
export function sentinelOptions(url: string): RedisOptions {
  const m = SENTINEL_URL.exec(url);
  if (!m) throw new Error(`invalid Sentinel URL: expected redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER-NAME[/DB], got ${redact(url)}`);
  const [, scheme, user, password, hosts, name, db, query] = m;
  const sentinels = hosts!.split(',').map((h) => {
    const at = h.lastIndexOf(':');
    return at < 0 ? { host: h, port: 26379 } : { host: h.slice(0, at), port: Number(h.slice(at + 1)) };
  });
  const tls = scheme === 'rediss' ? {} : undefined;
  const sentinelPassword = new URLSearchParams(query ?? '').get('sentinelPassword') ?? undefined;
  return {
    sentinels,
    name: decodeURIComponent(name!),
    username: user ? decodeURIComponent(user) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
    sentinelPassword,
    db: db === undefined ? 0 : Number(db),
    tls,
    sentinelTLS: tls,
    enableTLSForSentinelMode: tls !== undefined,
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** Connects and PINGs, failing with one clear line instead of retrying forever. */
export async function connectRedis(url: string, use: RedisUse = {}, timeoutMs = 3000): Promise<Redis> {
  const redis = new Redis({ ...redisOptions(url, use), lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null });
  redis.on('error', () => {}); // reported by the awaited connect below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new RedisUnreachableError(`cannot reach Redis at ${redact(url)}: ${(err as Error).message}`);
  }
  // Reachable: from now on, reconnect after transient failures like any long-lived client.
  redis.options.retryStrategy = (times: number) => Math.min(times * 100, 2000);
  return redis;
}
