/**
 * A tenant's submission rate (TenantPolicy.rate): a token bucket in Redis, shared by every API
 * process, taken in one round trip by one Lua script. A batch of N jobs takes N tokens, all or none.
 */
import type { Redis } from 'ioredis';
import { tenantRateKey } from './redis-keys.js';

/**
 * KEYS[1] the bucket (tenantRateKey). ARGV[1] tokens per second, ARGV[2] burst (the bucket's size),
 * ARGV[3] tokens wanted. The clock is Redis's own (TIME), the same for every API process.
 * Returns { 1, 0 } when taken, else { 0, ms until enough tokens } and the bucket unchanged.
 * A missing bucket is full. The key expires once the bucket would be full again.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
if tokens + 1e-9 < n then return { 0, math.ceil((n - tokens) * 1000 / rate) } end
tokens = tokens - n
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return { 1, 0 }
`;

export type RateOutcome = { taken: true } | { taken: false; retryAfterMs: number };

/** Rejects after timeoutMs when Redis does not answer (ioredis queues commands through an outage). */
export async function takeTokens(redis: Redis, tenantId: string, rate: { perSecond: number; burst: number }, n: number, timeoutMs: number): Promise<RateOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer the rate limit check within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reply = (await Promise.race([redis.eval(TAKE, 1, tenantRateKey(tenantId), rate.perSecond, rate.burst, n), timedOut])) as [number, number];
    return reply[0] === 1 ? { taken: true } : { taken: false, retryAfterMs: reply[1] };
  } finally {
    clearTimeout(timer);
  }
}
