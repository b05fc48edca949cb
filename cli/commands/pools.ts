/** `warmbox pools` (every worker's warm pools, like `docker ps`) and `warmbox pools set IMAGE`. */
import { parseArgs } from 'node:util';
import { ApiClient } from '../api-client.js';
import { UsageError } from '../units.js';
import { formatTable } from '../table.js';
import type { z } from '@hono/zod-openapi';
import type { poolsViewSchema } from '../../api/schemas/pools.js';

export const POOLS_HELP = `Usage: warmbox pools [OPTIONS]
       warmbox pools set IMAGE --min N --max N [OPTIONS]

List the warm pools of every worker: parked sandboxes per image, the pool's target and bounds,
claims (warm and cold) and rates. 'warmbox pools set' sets an image's bounds on every worker.

Options:
      --json               Print the answer of GET /v1/pools as JSON
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help               Show this help

Columns: PARKED sandboxes ready now (+N being made), TARGET what the pool aims for (its policy,
within MIN..MAX), CLAIMS jobs that asked for one, WARM/COLD how many found one parked or had to
wait for one to be made, CLAIMS/S and REFILLS/S claim rate (moving average) and creation rate.`;

export const POOLS_SET_HELP = `Usage: warmbox pools set IMAGE --min N --max N [OPTIONS]

Set how many sandboxes of IMAGE each worker keeps parked: at least MIN even when idle, never
more than MAX (0 turns warm starts off for the image: every job starts cold). Every worker
applies it within a moment; it persists in Redis across restarts.

Options:
      --min N              Parked even when idle
      --max N              Never more parked than this
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help               Show this help`;

/** The answer of GET /v1/pools, typed from the schema the API validates and documents it with. */
type PoolsView = z.infer<typeof poolsViewSchema>;

export async function poolsCommand(args: string[]): Promise<number> {
  if (args[0] === 'set') return poolsSet(args.slice(1));
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(POOLS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unknown pools command ${JSON.stringify(positionals[0])} (see warmbox pools --help)`);
  const view = await new ApiClient(values.url).request<PoolsView>('GET', '/v1/pools');
  if (values.json) console.log(JSON.stringify(view, null, 2));
  else console.log(formatPools(view));
  return 0;
}

async function poolsSet(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { min: { type: 'string' }, max: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(POOLS_SET_HELP);
    return 0;
  }
  const [image, ...rest] = positionals;
  if (!image || rest.length > 0) throw new UsageError('"warmbox pools set" takes one IMAGE (see warmbox pools set --help)');
  const min = count(values.min, '--min');
  const max = count(values.max, '--max');
  const stored = await new ApiClient(values.url).request<{ image: string; min: number; max: number }>('PUT', `/v1/pools/${encodeURIComponent(image)}`, { min, max });
  console.log(`${stored.image}: min ${stored.min}, max ${stored.max}`);
  return 0;
}

function count(text: string | undefined, flag: string): number {
  if (text === undefined) throw new UsageError(`"warmbox pools set" requires ${flag} N (see warmbox pools set --help)`);
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: expected a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

const HEADERS = ['WORKER', 'IMAGE', 'PARKED', 'TARGET', 'MIN', 'MAX', 'CLAIMS', 'WARM', 'COLD', 'CLAIMS/S', 'REFILLS/S'];

/** Columns padded to their widest cell, three spaces apart, as `docker ps` prints them. */
export function formatPools(view: PoolsView): string {
  const rows: string[][] = [];
  for (const w of view.workers) {
    if (w.pools.length === 0) rows.push([w.id, '-', '0', '-', '-', '-', '0', '0', '0', '0', '0']);
    for (const p of w.pools) {
      rows.push([
        w.id,
        shortReference(p.image),
        p.creating > 0 ? `${p.parked}+${p.creating}` : String(p.parked),
        String(p.target),
        String(p.min),
        String(p.max),
        String(p.claims),
        String(p.warmClaims),
        String(p.coldStarts),
        p.claimRate.toFixed(2),
        p.refillRate.toFixed(2),
      ]);
    }
  }
  const lines = [formatTable([HEADERS, ...rows])];
  if (view.workers.length === 0) lines.push('(no worker is running: start one with `warmbox server` or `warmbox worker`)');
  return lines.join('\n');
}

/** docker.io/library/busybox:latest → busybox:latest, as docker shows Docker Hub images. */
function shortReference(reference: string): string {
  return reference.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}
