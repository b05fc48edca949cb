/** How many commands a Redis server ran, by command (INFO commandstats), to count them per job. */
import { Redis } from 'ioredis';

export type CommandCounts = Map<string, number>;

export async function commandCounts(url: string): Promise<CommandCounts> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 1 };
  const redis = url.startsWith('unix://') ? new Redis({ ...options, path: url.slice('unix://'.length) }) : new Redis(url, options);
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    const counts: CommandCounts = new Map();
    // cmdstat_evalsha:calls=12,usec=...
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(m[1]!, Number(m[2]));
    return counts;
  } finally {
    redis.disconnect();
  }
}

/** after − before, per command, the largest first; `info` and the like this module sends itself are left out. */
export function commandsBetween(before: CommandCounts, after: CommandCounts): { command: string; calls: number }[] {
  const own = new Set(['info', 'client|setname', 'client']);
  return [...after]
    .map(([command, calls]) => ({ command, calls: calls - (before.get(command) ?? 0) }))
    .filter((c) => c.calls > 0 && !own.has(c.command))
    .sort((a, b) => b.calls - a.calls);
}
