/**
 * Configuration of webhook deliveries from environment variables, checked once at start with
 * messages that name the variable; part of the server configuration (server/config.ts).
 *
 * | variable                           | default  | bounds         | meaning                                            |
 * |------------------------------------|----------|----------------|----------------------------------------------------|
 * | WARMBOX_WEBHOOK_SECRET             | —        | ≥ 16 chars     | the HMAC key; absent: generated once and kept in   |
 * |                                    |          |                | WARMBOX_DATA/webhook-secret (mode 0600)            |
 * | WARMBOX_WEBHOOK_ALLOW              | —        |                | refused ranges allowed after all: `loopback`,      |
 * |                                    |          |                | `private`, `link-local`, `cgnat`, or CIDRs         |
 * | WARMBOX_WEBHOOK_ATTEMPTS           | 8        | 1 … 25         | attempts in all before a delivery is dead          |
 * | WARMBOX_WEBHOOK_BACKOFF_MS         | 5 000    | 10 … 3 600 000 | the wait before the first retry (×3 each time, ±jitter) |
 * | WARMBOX_WEBHOOK_BACKOFF_MAX_MS     | 3 600 000| backoff … 1 day| the longest wait between two attempts              |
 * | WARMBOX_WEBHOOK_TIMEOUT_MS         | 10 000   | 100 … 60 000   | one attempt, until the response's status           |
 * | WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS | 5 000    | 100 … 60 000   | until connected (at most the attempt's timeout)    |
 * | WARMBOX_WEBHOOK_CONCURRENCY        | 16       | 1 … 256        | deliveries one worker makes at once, apart from jobs |
 */
import { z } from 'zod';
import { WebhookTargetPolicy } from '../contract/webhook-target-policy.js';

export interface WebhookConfig {
  /** Absent: server/webhook-secret.ts generates one in the data directory. */
  secret?: string;
  /** WARMBOX_WEBHOOK_ALLOW as given (its parsed form is `policy`). */
  allow: string;
  policy: WebhookTargetPolicy;
  attempts: number;
  backoff: { baseMs: number; maxMs: number };
  timeoutMs: number;
  connectTimeoutMs: number;
  concurrency: number;
}

/** Each bounded setting: its default and bounds, in one place. */
export const WEBHOOK_BOUNDS = {
  WARMBOX_WEBHOOK_ATTEMPTS: { default: 8, min: 1, max: 25 },
  WARMBOX_WEBHOOK_BACKOFF_MS: { default: 5_000, min: 10, max: 3_600_000 },
  WARMBOX_WEBHOOK_BACKOFF_MAX_MS: { default: 3_600_000, min: 10, max: 86_400_000 },
  WARMBOX_WEBHOOK_TIMEOUT_MS: { default: 10_000, min: 100, max: 60_000 },
  WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS: { default: 5_000, min: 100, max: 60_000 },
  WARMBOX_WEBHOOK_CONCURRENCY: { default: 16, min: 1, max: 256 },
} as const;

type Bounded = keyof typeof WEBHOOK_BOUNDS;

const bounded = (name: Bounded) => {
  const b = WEBHOOK_BOUNDS[name];
  return z.coerce.number().int().min(b.min).max(b.max).default(b.default);
};

const schema = z.object({
  WARMBOX_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WARMBOX_WEBHOOK_ALLOW: z.string().default(''),
  WARMBOX_WEBHOOK_ATTEMPTS: bounded('WARMBOX_WEBHOOK_ATTEMPTS'),
  WARMBOX_WEBHOOK_BACKOFF_MS: bounded('WARMBOX_WEBHOOK_BACKOFF_MS'),
  WARMBOX_WEBHOOK_BACKOFF_MAX_MS: bounded('WARMBOX_WEBHOOK_BACKOFF_MAX_MS'),
  WARMBOX_WEBHOOK_TIMEOUT_MS: bounded('WARMBOX_WEBHOOK_TIMEOUT_MS'),
  WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS: bounded('WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS'),
  WARMBOX_WEBHOOK_CONCURRENCY: bounded('WARMBOX_WEBHOOK_CONCURRENCY'),
});

/** Throws an Error whose message lists every problem, each naming its variable. */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const values = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('WARMBOX_WEBHOOK_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(values[String(i.path[0])])}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  let policy: WebhookTargetPolicy;
  try {
    policy = WebhookTargetPolicy.parse(c.WARMBOX_WEBHOOK_ALLOW);
  } catch (err) {
    throw new Error(`invalid configuration: WARMBOX_WEBHOOK_ALLOW=${JSON.stringify(c.WARMBOX_WEBHOOK_ALLOW)}: ${(err as Error).message}`, { cause: err });
  }
  if (c.WARMBOX_WEBHOOK_BACKOFF_MAX_MS < c.WARMBOX_WEBHOOK_BACKOFF_MS) {
    throw new Error(
      `invalid configuration: WARMBOX_WEBHOOK_BACKOFF_MAX_MS=${c.WARMBOX_WEBHOOK_BACKOFF_MAX_MS} is below WARMBOX_WEBHOOK_BACKOFF_MS=${c.WARMBOX_WEBHOOK_BACKOFF_MS}`,
    );
  }
  return {
    secret: c.WARMBOX_WEBHOOK_SECRET,
    allow: c.WARMBOX_WEBHOOK_ALLOW,
    policy,
    attempts: c.WARMBOX_WEBHOOK_ATTEMPTS,
    backoff: { baseMs: c.WARMBOX_WEBHOOK_BACKOFF_MS, maxMs: c.WARMBOX_WEBHOOK_BACKOFF_MAX_MS },
    timeoutMs: c.WARMBOX_WEBHOOK_TIMEOUT_MS,
    connectTimeoutMs: Math.min(c.WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS, c.WARMBOX_WEBHOOK_TIMEOUT_MS),
    concurrency: c.WARMBOX_WEBHOOK_CONCURRENCY,
  };
}
