/**
 * The API processes that one may ask for a blob it lacks (api/peer-blobs.ts): each that has an
 * address of its own (WARMBOX_ADVERTISE_URL) writes it to API_PEERS_KEY with the time, every
 * HEARTBEAT_MS; one not heard of for STALE_MS is not asked (and is dropped from the hash).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { API_PEERS_KEY } from './redis-keys.js';

const HEARTBEAT_MS = 10_000;
const STALE_MS = 3 * HEARTBEAT_MS;

export class ApiPeers {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly redis: Redis,
    private readonly self: string | undefined,
  ) {}

  /** Registers `self` (when given) and keeps it fresh until close(). */
  static async start(redis: Redis, self: string | undefined, log: Logger): Promise<ApiPeers> {
    const peers = new ApiPeers(redis, self);
    if (self !== undefined) {
      await peers.beat();
      peers.timer = setInterval(() => peers.beat().catch((err) => log.warn({ err }, 'API peers: the heartbeat failed')), HEARTBEAT_MS);
      peers.timer.unref();
    }
    return peers;
  }

  /** The other API processes heard of lately. */
  async others(now = Date.now()): Promise<string[]> {
    const all = await this.redis.hgetall(API_PEERS_KEY);
    const stale = Object.entries(all).filter(([, at]) => now - Number(at) > STALE_MS).map(([url]) => url);
    if (stale.length > 0) await this.redis.hdel(API_PEERS_KEY, ...stale);
    return Object.keys(all).filter((url) => url !== this.self && !stale.includes(url));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.self !== undefined) await this.redis.hdel(API_PEERS_KEY, this.self).catch(() => {});
  }

  private async beat(): Promise<void> {
    await this.redis.hset(API_PEERS_KEY, this.self!, String(Date.now()));
  }
}
