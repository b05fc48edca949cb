/** `warmbox image build NAME`: build a language image from its recipe on the server, streaming the log. */
import { parseArgs } from 'node:util';
import { RECIPE_NAMES } from '../../contract/recipe-names.js';
import { ApiClient, ApiError } from '../api-client.js';
import { postStreaming } from '../image-api.js';
import { UsageError } from '../units.js';

export const IMAGE_HELP = `Usage: warmbox image build [OPTIONS] NAME

Build a language image from its recipe (infra/images/NAME/) on a worker: the recipe's packages,
from the server's Debian mirror, as a layer on the shared Debian minbase image (made by the first
build, then reused by every language). Takes minutes, the first build longer; the build's output is
streamed as it comes. NAME is one of: ${RECIPE_NAMES.join(', ')}.

Options:
  -t, --tag REF    Name of the image (default docker.io/library/NAME:latest, i.e. plain NAME)
      --url URL    warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
  -h, --help       Show this help

Exit status: 0 when the image is built and stored, 1 when the build failed.`;

export async function imageCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    console.log(IMAGE_HELP);
    return sub === undefined ? 1 : 0;
  }
  if (sub !== 'build') throw new UsageError(`unknown image command ${JSON.stringify(sub)} (see warmbox image --help)`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { tag: { type: 'string', short: 't' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(IMAGE_HELP);
    return 0;
  }
  const name = positionals[0];
  if (positionals.length !== 1 || name === undefined || !(RECIPE_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`"warmbox image build" requires one NAME: ${RECIPE_NAMES.join(', ')} (see warmbox image --help)`);
  }
  const client = new ApiClient(values.url);
  try {
    const body: Record<string, string> = { name };
    if (values.tag !== undefined) body.reference = values.tag;
    const image = await postStreaming(client, '/v1/images/build', body, (line) => {
      if (line.type === 'log') console.log(line.line);
      else if (line.type === 'status') console.log(line.message);
    });
    console.log(`Successfully built ${image.digest}`);
    console.log(`Successfully tagged ${image.reference}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`warmbox: ${err.message}\n`);
    return 1;
  }
}
