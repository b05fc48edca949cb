/** `warmbox run [OPTIONS] IMAGE [--] [COMMAND] [ARG...]`: like `docker run`, through the API. */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeReference } from '../../contract/image-reference.js';
import { ApiClient, ApiError } from '../api-client.js';
import { displayReference } from '../image-api.js';
import { streamOutput, type JobView } from '../job-output.js';
import { pullShowingProgress } from './pull.js';
import { parseDuration, parseSize, UsageError } from '../units.js';
import { parseUlimits } from '../ulimit.js';

export const RUN_HELP = `Usage: warmbox run [OPTIONS] IMAGE [--] [COMMAND] [ARG...]

Run a command in a new sandbox of IMAGE, stream its output, and exit with its exit status.
Without COMMAND, the image's default command runs.

Options:
  -e, --env KEY=VALUE      Set an environment variable (repeatable; KEY alone takes this shell's value)
      --env-file FILE      Read environment variables from a file: KEY=VALUE lines, # comments (repeatable; -e wins)
  -i, --interactive        Send this process's standard input to the job
  -w, --workdir DIR        Working directory inside the sandbox (absolute; made if missing), instead of the image's
      --entrypoint CMD     Run CMD instead of the image's Entrypoint ('' clears it: COMMAND alone runs)
      --network MODE       'none' (the default): only loopback; 'bridge': outbound IPv4 through NAT, nothing else
      --file SRC[:DEST]    Copy a local file into the job's working directory (repeatable)
  -m, --memory SIZE        Memory limit, e.g. 256m, 1g
      --cpus N             CPU cores' worth of time, all the job's processes together, e.g. 0.5 (default 1)
      --timeout DURATION   Wall-clock limit, e.g. 10s, 500ms, 2m (plain number: seconds)
      --cpu-time DURATION  CPU time limit of the whole process tree
      --pids-limit N       Processes and threads at once
      --output-limit SIZE  stdout bytes kept; the job is killed past it
      --stderr-limit SIZE  stderr bytes kept (a cap of its own); the job is killed past it
      --ulimit NAME=N[:N]  stack (bytes of stack per process), nofile or fsize, as docker takes them (repeatable)
      --disk SIZE          Size of the writable layer
  -l, --label KEY=VALUE    Attach a label to the job (repeatable)
      --name NAME          Name the job: its label 'name' (warmbox ps shows it)
  -d, --detach             Print the job id and exit at once (then: warmbox logs, warmbox wait)
      --rm                 Accepted for docker's sake, and changes nothing: every sandbox is single-use,
                           destroyed when its job ends (the job's record stays: warmbox ps -a)
  -q, --quiet              Do not show the pull of an image that is not in the store yet
      --json               Print the finished job as JSON instead of its output
      --url URL            warmbox server (default: $WARMBOX_URL or http://127.0.0.1:8080)
      --api-key KEY        API key of a server with auth (default: $WARMBOX_API_KEY)
  -h, --help               Show this help

An IMAGE that is not in the store is pulled first, as with docker: its progress goes to stderr
(bars redrawn on a terminal, a line per layer and state otherwise).

Ctrl-C cancels the job (its sandbox is killed) and waits for it to end; press it twice to leave.

Exit status: the job's own; 128+N when a signal N ended it; 137 when a limit killed it; 130 when
it was cancelled; 125 when warmbox itself failed (unknown image, server unreachable, bad option).`;

const OPTIONS = {
  env: { type: 'string', short: 'e', multiple: true },
  'env-file': { type: 'string', multiple: true },
  interactive: { type: 'boolean', short: 'i' },
  workdir: { type: 'string', short: 'w' },
  entrypoint: { type: 'string' },
  network: { type: 'string' },
  cpus: { type: 'string' },
  name: { type: 'string' },
  rm: { type: 'boolean' },
  file: { type: 'string', multiple: true },
  memory: { type: 'string', short: 'm' },
  timeout: { type: 'string' },
  'cpu-time': { type: 'string' },
  'pids-limit': { type: 'string' },
  'output-limit': { type: 'string' },
  'stderr-limit': { type: 'string' },
  ulimit: { type: 'string', multiple: true },
  disk: { type: 'string' },
  label: { type: 'string', short: 'l', multiple: true },
  detach: { type: 'boolean', short: 'd' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Options end at IMAGE, as with docker: everything after it belongs to the command. */
export function splitAtImage(args: string[]): { options: string[]; image?: string; command: string[] } {
  const takesValue = new Set(
    Object.entries(OPTIONS)
      .filter(([, o]) => o.type === 'string')
      .flatMap(([name, o]) => [`--${name}`, ...('short' in o ? [`-${o.short}`] : [])]),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return { options: args.slice(0, i), image: args[i + 1], command: args.slice(i + 2) };
    if (!a.startsWith('-') || a === '-') {
      const rest = args.slice(i + 1);
      return { options: args.slice(0, i), image: a, command: rest[0] === '--' ? rest.slice(1) : rest };
    }
    if (takesValue.has(a)) i++;
  }
  return { options: args, command: [] };
}

export async function runCommand(args: string[]): Promise<number> {
  const split = splitAtImage(args);
  const { values } = parseArgs({ args: split.options, options: OPTIONS, allowPositionals: false });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  if (!split.image) throw new UsageError('"warmbox run" requires an IMAGE (see warmbox run --help)');
  const client = new ApiClient(values.url, values['api-key'] ?? process.env.WARMBOX_API_KEY);
  const body = await requestBody(split.image, split.command, values);
  await pullIfMissing(client, split.image, values.quiet === true);
  let job: JobView;
  try {
    job = await client.request<JobView>('POST', '/v1/jobs', body);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'image_not_found') {
      throw new ApiError(err.status, err.code, `Unable to find image '${split.image}': ${err.message}`);
    }
    throw err;
  }
  if (values.detach) {
    console.log(job.id);
    return 0;
  }
  const finished = await follow(client, job.id, !values.json);
  if (values.json) console.log(JSON.stringify(finished, null, 2));
  return exitStatus(finished);
}

/**
 * docker run's first step: an image the store does not have is pulled before the job is sent,
 * showing the pull on stderr ("Unable to find image 'busybox:latest' locally", each layer, "Status:
 * Downloaded newer image for …"). POST /v1/jobs would pull it as well, but without a word while it
 * does. A reference the API cannot parse is left to POST /v1/jobs to refuse.
 */
async function pullIfMissing(client: ApiClient, image: string, quiet: boolean): Promise<void> {
  try {
    await client.request('GET', `/v1/images/${encodeURIComponent(image)}`);
    return;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) return;
  }
  if (!quiet) process.stderr.write(`Unable to find image '${displayName(image)}' locally\n`);
  await pullShowingProgress(client, image, quiet ? undefined : process.stderr, { missing: true });
}

/** As docker names an image in its messages: 'busybox:latest', '127.0.0.1:5000/team/tool:1'. */
function displayName(image: string): string {
  try {
    return displayReference(normalizeReference(image));
  } catch {
    return image;
  }
}

async function requestBody(image: string, command: string[], v: Record<string, unknown>): Promise<Record<string, unknown>> {
  const limits: Record<string, number> = {};
  if (typeof v.memory === 'string') limits.memoryBytes = parseSize(v.memory, '--memory');
  if (typeof v.timeout === 'string') limits.wallTimeMs = parseDuration(v.timeout, '--timeout');
  if (typeof v['cpu-time'] === 'string') limits.cpuTimeMs = parseDuration(v['cpu-time'], '--cpu-time');
  if (typeof v['pids-limit'] === 'string') limits.pids = Number.parseInt(v['pids-limit'], 10);
  if (typeof v['output-limit'] === 'string') limits.outputBytes = parseSize(v['output-limit'], '--output-limit');
  if (typeof v['stderr-limit'] === 'string') limits.stderrBytes = parseSize(v['stderr-limit'], '--stderr-limit');
  if (Array.isArray(v.ulimit)) Object.assign(limits, parseUlimits(v.ulimit as string[]));
  if (typeof v.disk === 'string') limits.diskBytes = parseSize(v.disk, '--disk');
  if (typeof v.cpus === 'string') limits.cpus = parseCpus(v.cpus);
  const body: Record<string, unknown> = { image, limits };
  if (command.length) body.cmd = command;
  if (typeof v.entrypoint === 'string') body.entrypoint = v.entrypoint === '' ? [] : [v.entrypoint];
  if (typeof v.workdir === 'string') body.workdir = v.workdir;
  if (typeof v.network === 'string') body.network = v.network;
  const env = {
    ...(Array.isArray(v['env-file']) ? Object.assign({}, ...(v['env-file'] as string[]).map(envFile)) : {}),
    ...(Array.isArray(v.env) ? keyValues(v.env as string[], '--env', process.env) : {}),
  };
  if (Object.keys(env).length) body.env = env;
  const labels = {
    ...(Array.isArray(v.label) ? keyValues(v.label as string[], '--label') : {}),
    ...(typeof v.name === 'string' && { name: v.name }),
  };
  if (Object.keys(labels).length) body.labels = labels;
  if (Array.isArray(v.file)) body.files = (v.file as string[]).map(localFile);
  if (v.interactive) body.stdin = { base64: (await readAll(process.stdin)).toString('base64') };
  return body;
}

/** `KEY=VALUE`; a bare `KEY` takes this process's value (docker's `-e KEY`). */
function keyValues(items: string[], flag: string, inherit?: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(item)}`);
    if (eq < 0) {
      const value = inherit?.[item];
      if (value === undefined) throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(item)}`);
      out[item] = value;
    } else {
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return out;
}

function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(n > 0)) throw new UsageError(`--cpus: expected a number of cores such as 0.5 or 2, got ${JSON.stringify(text)}`);
  return n;
}

/** docker's --env-file: KEY=VALUE per line, values taken as written (no quotes removed); # comments, blank lines; a bare KEY takes this shell's value. */
function envFile(path: string): Record<string, string> {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const present = lines.filter((l) => l.includes('=') || process.env[l.trim()] !== undefined);
  return keyValues(present.map((l) => (l.includes('=') ? l.replace(/^\s+/, '') : l.trim())), `--env-file ${path}`, process.env);
}

function localFile(spec: string): Record<string, unknown> {
  const colon = spec.indexOf(':');
  const src = colon < 0 ? spec : spec.slice(0, colon);
  const dest = colon < 0 ? basename(spec) : spec.slice(colon + 1);
  return { path: dest, content: readFileSync(src).toString('base64'), encoding: 'base64', mode: 0o755 };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Streams the job's output to this terminal as it comes; returns the finished job. */
async function follow(client: ApiClient, id: string, print: boolean): Promise<JobView> {
  const stop = cancelOnInterrupt(client, id);
  try {
    return await streamUntilEnd(client, id, print);
  } finally {
    stop();
  }
}

/**
 * Ctrl-C cancels the job (its sandbox is killed) and the output follows until it ends, as with
 * `docker run`; a second Ctrl-C leaves at once.
 */
function cancelOnInterrupt(client: ApiClient, id: string): () => void {
  let asked = false;
  const onInterrupt = (): void => {
    if (asked) process.exit(130);
    asked = true;
    process.stderr.write(`\nwarmbox: cancelling job ${id} (Ctrl-C again to leave it running)\n`);
    client.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`).catch((err: Error) => {
      process.stderr.write(`warmbox: could not cancel job ${id}: ${err.message}\n`);
    });
  };
  process.on('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
}

async function streamUntilEnd(client: ApiClient, id: string, print: boolean): Promise<JobView> {
  return (await streamOutput(client, id, { print }))!;
}

const LIMIT_MESSAGES: Record<string, string> = {
  time_limit: 'wall-clock time limit exceeded',
  cpu_time_limit: 'CPU time limit exceeded',
  memory_limit: 'memory limit exceeded',
  output_limit: 'output limit exceeded',
};

/** Like docker: the job's status, 128+signal, 137 when killed for a limit, 125 for warmbox's own failure. */
export function exitStatus(job: JobView): number {
  const r = job.result;
  if (!r) return 125;
  if (r.verdict === 'internal_error' || r.verdict === 'lost') {
    const what = r.verdict === 'lost' ? 'was lost' : 'failed inside warmbox';
    process.stderr.write(`warmbox: job ${job.id} ${what}: ${r.error ?? 'unknown error'}\n`);
    return 125;
  }
  if (r.verdict === 'cancelled') {
    process.stderr.write(`warmbox: job ${job.id} cancelled\n`);
    return 130;
  }
  const limit = LIMIT_MESSAGES[r.verdict];
  if (limit) {
    process.stderr.write(`warmbox: job ${job.id} killed: ${limit}\n`);
    return 137;
  }
  if (r.exitCode !== null) return r.exitCode;
  const signo = r.signal ? signalNumber(r.signal) : 9;
  return 128 + signo;
}

function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 9;
}
