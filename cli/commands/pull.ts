/** `warmbox pull REF`: pull an image into the service's snapshot store, showing its progress like `docker pull`. */
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from '../api-client.js';
import { displayReference, postStreaming } from '../image-api.js';
import { PullProgressView } from '../progress.js';
import { UsageError } from '../units.js';

export const PULL_HELP = `Usage: warmbox pull [OPTIONS] NAME[:TAG|@DIGEST]

Pull an image from a registry into the warmbox server's snapshot store. On a terminal each layer's
progress is redrawn in place; otherwise one line is printed per layer and state.

Registries, mirrors and credentials are the server's (WARMBOX_REGISTRY_MIRRORS,
WARMBOX_REGISTRY_INSECURE, WARMBOX_REGISTRY_AUTH_FILE).

Options:
  -q, --quiet      Print only the image's reference when done
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help

Exit status: 0 when the image is stored, 1 when the pull failed.`;

export async function pullCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { quiet: { type: 'boolean', short: 'q' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(PULL_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('"warmbox pull" requires exactly one image reference (see warmbox pull --help)');
  const requested = positionals[0]!;
  const client = new ApiClient(values.url);
  const view = new PullProgressView(process.stdout);
  try {
    const image = await postStreaming(client, '/v1/images/pull', { reference: requested }, (line) => {
      if (values.quiet) return;
      if (line.type === 'status' && !line.message.startsWith('Digest:')) view.status(line.message);
      else if (line.type === 'progress') view.progress(line);
    });
    view.finish();
    if (!values.quiet) {
      console.log(`Digest: ${image.digest}`);
      console.log(`Status: ${view.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${displayReference(image.reference)}`);
    }
    console.log(image.reference);
    return 0;
  } catch (err) {
    view.finish();
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`warmbox: ${err.message}\n`);
    return 1;
  }
}
