/** `warmbox import FILE`: load images from a `docker save` or OCI layout tar, like `docker load`. */
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from '../api-client.js';
import { uploadArchive } from '../image-api.js';
import { UsageError } from '../units.js';

export const IMPORT_HELP = `Usage: warmbox import [OPTIONS] FILE

Import the images of an archive into the warmbox server's snapshot store: a \`docker save\` tar or
an OCI image layout tar (gzip-compressed or not). '-' reads the archive from standard input.
Images keep the names the archive gives them; --tag names an archive's only image.

Options:
  -t, --tag REF    Name of the image (required when the archive does not name it)
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help

Exit status: 0 when the images are stored, 1 when the import failed.`;

export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { tag: { type: 'string', short: 't' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(IMPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('"warmbox import" requires exactly one FILE (see warmbox import --help)');
  const client = new ApiClient(values.url);
  try {
    for (const image of await uploadArchive(client, positionals[0]!, values.tag)) console.log(`Loaded image: ${image.reference} (${image.digest})`);
    return 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      process.stderr.write(`warmbox: cannot read ${positionals[0]}: ${(err as Error).message}\n`);
      return 1;
    }
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`warmbox: ${err.message}\n`);
    return 1;
  }
}
