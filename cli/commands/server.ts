/** `warmbox server` (the API and a worker, or one of them: --role) until SIGINT or SIGTERM. */
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, type Role } from '../../server/config.js';
import { startServer } from '../../server/server.js';

export const SERVER_HELP = `Usage: warmbox server [OPTIONS]

Start the warmbox API and a worker. Without a Redis URL, a private redis-server is started
under the data directory and stopped on exit.

Options (each overrides its environment variable):
      --role ROLE          all (the API and a worker), api (only the API) or worker (only a
                           worker, no HTTP port) (WARMBOX_ROLE, default all); api and worker
                           need --redis-url: every process of one service shares one Redis
      --listen HOST:PORT   Address of the HTTP API (WARMBOX_LISTEN, default 127.0.0.1:8080)
      --auth on|off        Whether requests need an API key (WARMBOX_AUTH; default off when
                           --listen is a loopback address, on otherwise; off beyond loopback
                           is refused). Keys: warmbox keys --help
      --data DIR           Data directory (WARMBOX_DATA, default /var/lib/warmbox as root)
      --redis-url URL      Redis to use (WARMBOX_REDIS_URL, default: a private redis-server)
      --concurrency N      Jobs run at once by this worker (WARMBOX_CONCURRENCY, default 8)
      --stop-grace-ms MS   On SIGTERM or SIGINT, how long running jobs get to finish before
                           they are killed and end 'lost' (WARMBOX_STOP_GRACE_MS, default 30000)
  -h, --help               Show this help

Stopping: SIGTERM or SIGINT (Ctrl-C) stops taking jobs, lets running ones finish within the
grace period, returns jobs not yet started to the queue, and exits 0. A second signal exits at
once (130 after SIGINT, 143 after SIGTERM): every sandbox is killed and its job ends 'lost'.`;

const FLAG_TO_ENV = {
  role: 'WARMBOX_ROLE',
  listen: 'WARMBOX_LISTEN',
  data: 'WARMBOX_DATA',
  'redis-url': 'WARMBOX_REDIS_URL',
  concurrency: 'WARMBOX_CONCURRENCY',
  'stop-grace-ms': 'WARMBOX_STOP_GRACE_MS',
  auth: 'WARMBOX_AUTH',
  'api-url': 'WARMBOX_API_URL',
} as const;

type Flag = keyof typeof FLAG_TO_ENV;

export async function serverCommand(args: string[]): Promise<number> {
  return serveUntilSignalled(args, SERVER_HELP, ['role', 'listen', 'data', 'redis-url', 'concurrency', 'stop-grace-ms', 'auth']);
}

/**
 * Parses the flags a command accepts, starts the process's parts, and stops them gracefully on
 * SIGINT or SIGTERM (server/server-stop.ts); a second signal during the stop exits at once, with
 * 128 + the signal's number as a shell reports a process killed by it (130, 143), once every
 * sandbox is killed.
 */
export async function serveUntilSignalled(args: string[], help: string, flags: Flag[], role?: Role): Promise<number> {
  const options = Object.fromEntries(flags.map((f) => [f, { type: 'string' as const }]));
  const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } } }) as { values: Partial<Record<Flag, string>> & { help?: boolean } };
  if (values.help) {
    console.log(help);
    return 0;
  }
  const env = { ...process.env };
  for (const flag of flags) {
    const v = values[flag];
    if (v !== undefined) env[FLAG_TO_ENV[flag]] = v;
  }
  if (role !== undefined) env.WARMBOX_ROLE = role;
  const server = await startServer(loadConfig(env));
  await nextSignal();
  void nextSignal().then(async (signal) => {
    await server.abortNow();
    process.exit(128 + constants.signals[signal]);
  });
  await server.close();
  return 0;
}

/** The next SIGINT or SIGTERM; until then neither ends the process. */
function nextSignal(): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    const on = (signal: 'SIGINT' | 'SIGTERM'): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
