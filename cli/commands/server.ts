/** `warmbox server`: the API and a worker in one process, until SIGINT or SIGTERM. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../server/config.js';
import { startServer } from '../../server/server.js';

export const SERVER_HELP = `Usage: warmbox server [OPTIONS]

Start the warmbox API and a worker. Without a Redis URL, a private redis-server is started
under the data directory and stopped on exit.

Options (each overrides its environment variable):
      --listen HOST:PORT   Address of the HTTP API (WARMBOX_LISTEN, default 127.0.0.1:8080)
      --data DIR           Data directory (WARMBOX_DATA, default /var/lib/warmbox as root)
      --redis-url URL      Redis to use (WARMBOX_REDIS_URL, default: a private redis-server)
      --concurrency N      Jobs run at once by this worker (WARMBOX_CONCURRENCY, default 8)
  -h, --help               Show this help`;

const FLAG_TO_ENV = { listen: 'WARMBOX_LISTEN', data: 'WARMBOX_DATA', 'redis-url': 'WARMBOX_REDIS_URL', concurrency: 'WARMBOX_CONCURRENCY' } as const;

export async function serverCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { listen: { type: 'string' }, data: { type: 'string' }, 'redis-url': { type: 'string' }, concurrency: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(SERVER_HELP);
    return 0;
  }
  const env = { ...process.env };
  for (const [flag, name] of Object.entries(FLAG_TO_ENV)) {
    const v = values[flag as keyof typeof FLAG_TO_ENV];
    if (v !== undefined) env[name] = v;
  }
  const server = await startServer(loadConfig(env));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
