/** The private redis-server a `warmbox server` started for its data directory, found by its socket. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function privateRedisPid(dataDir: string): number | undefined {
  const socket = join(dataDir, 'redis.sock');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // redis-server rewrites its title to e.g. "redis-server unixsocket:/path/redis.sock".
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes('redis-server') && cmdline.includes(socket)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
