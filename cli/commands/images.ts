/** `warmbox images`: the images the service can run, like `docker images`. */
import { parseArgs } from 'node:util';
import { ApiClient } from '../api-client.js';
import { displayRepository, type ImageView } from '../image-api.js';
import { formatBytes, timeAgo } from '../progress.js';
import { UsageError } from '../units.js';
import { formatTable } from '../table.js';

export const IMAGES_HELP = `Usage: warmbox images [OPTIONS]

List the images jobs can run without a pull (REPOSITORY, TAG, DIGEST, SIZE, CREATED). SIZE is the
unpacked size, as \`docker images\` shows it: the image's layers uncompressed, all together (what
WARMBOX_IMAGE_MAX_UNPACKED_BYTES bounds). A pull downloads less (compressed); \`warmbox system df\`
shows what images take on disk.

Options:
  -q, --quiet      Print only references
      --no-trunc   Print whole digests
      --json       Print the list as JSON (as GET /v1/images answers)
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help`;

export async function imagesCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      quiet: { type: 'boolean', short: 'q' },
      'no-trunc': { type: 'boolean' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(IMAGES_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unknown images command ${JSON.stringify(positionals[0])} (see warmbox images --help)`);
  const { images } = await new ApiClient(values.url).request<{ images: ImageView[] }>('GET', '/v1/images');
  if (values.json) console.log(JSON.stringify({ images }, null, 2));
  else if (values.quiet) for (const image of images) console.log(image.reference);
  else console.log(imageTable(images, { noTrunc: values['no-trunc'] === true }));
  return 0;
}

/** The `docker images` table (SIZE: unpacked); digests cut to 12 hex digits unless noTrunc. */
export function imageTable(images: ImageView[], opts: { noTrunc?: boolean; now?: number } = {}): string {
  const rows = [['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED']];
  for (const image of images) {
    const digest = opts.noTrunc ? image.digest : image.digest.replace(/^sha256:/, '').slice(0, 12);
    rows.push([displayRepository(image.repository), image.tag ?? '<none>', digest, formatBytes(image.unpackedBytes), timeAgo(image.createdAt, opts.now)]);
  }
  return formatTable(rows);
}
