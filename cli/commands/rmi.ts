/** `warmbox rmi REF...`: remove images from the service's snapshot store, like `docker rmi`. */
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from '../api-client.js';
import { UsageError } from '../units.js';

export const RMI_HELP = `Usage: warmbox rmi [OPTIONS] IMAGE [IMAGE...]

Remove one or more images. What no other image shares is deleted from the server's snapshot store;
sandboxes already running keep what they use until they end. An image that queued or running
jobs use is not removed, unless forced.

Options:
  -f, --force      Remove even while jobs of the image are queued or running
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help

Exit status: 0 when every image was removed, 1 when any was not.`;

export async function rmiCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: 'boolean', short: 'f' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(RMI_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('"warmbox rmi" requires at least one image (see warmbox rmi --help)');
  const client = new ApiClient(values.url);
  let status = 0;
  for (const image of positionals) {
    try {
      await client.request('DELETE', `/v1/images/${encodeURIComponent(image)}${values.force ? '?force=true' : ''}`);
      console.log(`Untagged: ${image}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code === 'unreachable') throw err;
      process.stderr.write(`warmbox: ${err.message}\n`);
      status = 1;
    }
  }
  return status;
}
