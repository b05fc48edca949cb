#!/usr/bin/env node
/** The `warmbox` command: a client of the warmbox API, and the way to start its server. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../contract/paths.js';
import { UsageError } from './units.js';

const HELP = `Usage: warmbox COMMAND [OPTIONS]

Run OCI images in pre-warmed Linux sandboxes, through the warmbox HTTP API.

Commands:
  run      Run a command in a new sandbox (like docker run)
  ps       List queued and running jobs; -a for finished ones too
  logs     Print a job's output; -f follows it
  wait     Block until jobs end and print their exit status
  server   Start the API and a worker
  worker   Start a worker only, on a shared Redis (several workers scale out)
  pools    List every worker's warm pools; 'pools set' sets an image's pool bounds
  pull     Pull an image from a registry (like docker pull)
  images   List images
  rmi      Remove one or more images
  import   Import images from a docker save or OCI layout tar (like docker load)
  image    'image build NAME': build a language image (python, gcc, node) from its recipe
  system   'system df': disk usage of each worker's snapshot store
  status   Show a running server at a glance: readiness, workers, pools, queue, versions
  tenants  'tenants policy NAME': show or change a tenant's rate limit, caps, images, retention
  version  Show the version

  keys     Make, list and revoke API keys ('keys create|list|revoke')
  tenants  Make, list and delete tenants ('tenants create|list|delete')

Every command that talks to a server sends the API key in $WARMBOX_API_KEY, or the one
given with --api-key KEY, as its bearer token (README "Tenants and keys").

Run 'warmbox COMMAND --help' for more on a command.`;

/** Loaded on demand: `warmbox run` should not pay for the server's modules at start-up. */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  run: async (args) => (await import('./commands/run.js')).runCommand(args),
  ps: async (args) => (await import('./commands/ps.js')).psCommand(args),
  logs: async (args) => (await import('./commands/logs.js')).logsCommand(args),
  wait: async (args) => (await import('./commands/wait.js')).waitCommand(args),
  server: async (args) => (await import('./commands/server.js')).serverCommand(args),
  worker: async (args) => (await import('./commands/worker.js')).workerCommand(args),
  pools: async (args) => (await import('./commands/pools.js')).poolsCommand(args),
  images: async (args) => (await import('./commands/images.js')).imagesCommand(args),
  system: async (args) => (await import('./commands/system.js')).systemCommand(args),
  status: async (args) => (await import('./commands/status.js')).statusCommand(args),
  pull: async (args) => (await import('./commands/pull.js')).pullCommand(args),
  rmi: async (args) => (await import('./commands/rmi.js')).rmiCommand(args),
  import: async (args) => (await import('./commands/import.js')).importCommand(args),
  image: async (args) => (await import('./commands/image-build.js')).imageCommand(args),
  keys: async (args) => (await import('./commands/keys.js')).keysCommand(args),
  tenants: async (args) => (await import('./commands/tenants.js')).tenantsCommand(args),
  version: async () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    console.log(`warmbox ${pkg.version}`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = takeApiKey(argv);
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (see warmbox --help)`);
  return command(args);
}

/**
 * `--api-key KEY` (or `--api-key=KEY`), before the command or among its options, becomes
 * WARMBOX_API_KEY for the command's client (cli/api-client.ts). `run` parses its own: what follows
 * its IMAGE is the job's command, never warmbox's options.
 */
function takeApiKey(argv: string[]): string[] {
  const out: string[] = [];
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || (commandSeen && out[0] === 'run')) {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--api-key' && i + 1 < argv.length) process.env.WARMBOX_API_KEY = argv[++i];
    else if (a.startsWith('--api-key=')) process.env.WARMBOX_API_KEY = a.slice('--api-key='.length);
    else {
      out.push(a);
      if (!a.startsWith('-')) commandSeen = true;
    }
  }
  return out;
}

/** One line on stderr, never a stack trace (WARMBOX_DEBUG=1 adds it); 125 like docker's own failures. */
function report(err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`warmbox: ${e.message}\n`);
  if (process.env.WARMBOX_DEBUG) process.stderr.write(`${e.stack}\n`);
  return 125;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(report(err)),
);
