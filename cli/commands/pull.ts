/** `warmbox pull REF`: pull an image into the service's snapshot store, showing its progress like `docker pull`. */
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from '../api-client.js';
import { displayReference, postStreaming, type ImageView } from '../image-api.js';
import { PullProgressView, type ProgressOutput } from '../progress.js';
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
  try {
    const image = await pullShowingProgress(client, requested, values.quiet ? undefined : process.stdout);
    console.log(image.reference);
    return 0;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`warmbox: ${err.message}\n`);
    return 1;
  }
}

/**
 * Pulls through the server and shows it on out as `docker pull` does (`warmbox run` too, on stderr):
 * status lines, each layer's progress (redrawn bars on a terminal, a line per change otherwise),
 * then the digest and whether anything new came. `missing`: the caller knows the store did not have
 * the image (else: up to date when every layer was there). Without out, silently.
 */
export async function pullShowingProgress(client: ApiClient, requested: string, out?: ProgressOutput, opts: { missing?: boolean } = {}): Promise<ImageView> {
  const view = out && new PullProgressView(out);
  let image: ImageView;
  try {
    image = await postStreaming(client, '/v1/images/pull', { reference: requested }, (line) => {
      if (line.type === 'status' && !line.message.startsWith('Digest:')) view?.status(line.message);
      else if (line.type === 'progress') view?.progress(line);
    });
  } finally {
    view?.finish();
  }
  out?.write(`Digest: ${image.digest}\n`);
  const upToDate = opts.missing !== true && view?.upToDate === true;
  out?.write(`Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${displayReference(image.reference)}\n`);
  return image;
}
