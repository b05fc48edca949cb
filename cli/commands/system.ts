/** `warmbox system df`: disk usage of each worker's snapshot store, like `docker system df -v`. */
import { parseArgs } from 'node:util';
import { ApiClient } from '../api-client.js';
import { displayReference } from '../image-api.js';
import { formatBytes } from '../progress.js';
import { formatTable } from '../table.js';
import { UsageError } from '../units.js';

export const SYSTEM_HELP = `Usage: warmbox system df [OPTIONS]

Show the disk usage of each worker's snapshot store: the total, and per image
  SIZE            its unpacked size, as \`warmbox images\` shows it (its layers uncompressed)
  ON DISK         what it takes in the store: its blobs as stored (compressed) and its unpacked
                  layers, the parts it shares with other images included
  UNIQUE ON DISK  the part of ON DISK no other image shares: what removing it would free

Options:
      --json       Print the answer of GET /v1/system/df as it is
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help`;

interface StoreUsage {
  workerId: string;
  total: number;
  images: { reference: string; unpackedBytes: number; diskBytes: number; uniqueBytes: number }[];
}

export async function systemCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    console.log(SYSTEM_HELP);
    return sub === undefined ? 1 : 0;
  }
  if (sub !== 'df') throw new UsageError(`unknown system command ${JSON.stringify(sub)} (see warmbox system --help)`);
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(SYSTEM_HELP);
    return 0;
  }
  const answer = await new ApiClient(values.url).request<{ stores: StoreUsage[] }>('GET', '/v1/system/df');
  console.log(values.json ? JSON.stringify(answer, null, 2) : answer.stores.map(storeTable).join('\n\n'));
  return 0;
}

export function storeTable(store: StoreUsage): string {
  const rows = [['IMAGE', 'SIZE', 'ON DISK', 'UNIQUE ON DISK']];
  for (const image of store.images) {
    rows.push([displayReference(image.reference), formatBytes(image.unpackedBytes), formatBytes(image.diskBytes), formatBytes(image.uniqueBytes)]);
  }
  return `Worker ${store.workerId}: ${formatBytes(store.total)} on disk in its store\n${formatTable(rows)}`;
}
