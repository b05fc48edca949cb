/**
 * The body of POST /v1/jobs (DESIGN.md contract). This schema validates requests and generates
 * their OpenAPI description; bounds come from contract/limits.ts and api/request-bounds.ts.
 */
import { z } from '@hono/zod-openapi';
import { BLOB_DIGEST_PATTERN } from '../../contract/blob-digest.js';
import { DEFAULT_LIMITS, MAX_LIMITS, MIN_LIMITS, type Limits } from '../../contract/limits.js';
import { NETWORK_MODES } from '../../contract/network-mode.js';
import { workingDirTextProblem } from '../../contract/working-dir.js';
import { filePathProblem, normalizeFilePath } from '../file-path.js';
import { REQUEST_BOUNDS as B } from '../request-bounds.js';

const noNul = (s: string) => !s.includes('\0');
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const isBase64 = (s: string) => s.length % 4 === 0 && BASE64_RE.test(s);

/** A 422-class issue for a bound zod has no built-in check for (bytes, entries of a record). */
function tooBig(ctx: z.RefinementCtx, maximum: number, message: string, path: PropertyKey[] = []): void {
  ctx.addIssue({ code: 'too_big', origin: 'bytes', maximum, inclusive: true, message, path });
}

function maxEntries<T extends z.ZodType<Record<string, string>>>(record: T, maximum: number) {
  return record.superRefine((value, ctx) => {
    const n = Object.keys(value).length;
    if (n > maximum) tooBig(ctx, maximum, `${n} entries, above the maximum ${maximum}`);
  });
}

function limit(name: keyof Limits, description: string) {
  return z
    .number()
    .int()
    .min(MIN_LIMITS[name])
    .max(MAX_LIMITS[name])
    .optional()
    .openapi({ description: `${description} Default ${DEFAULT_LIMITS[name]}; at least ${MIN_LIMITS[name]}, at most ${MAX_LIMITS[name]} (above → 422).` });
}

export const limitsSchema = z
  .strictObject({
    wallTimeMs: limit('wallTimeMs', 'Wall-clock time, in milliseconds.'),
    cpuTimeMs: limit('cpuTimeMs', 'CPU time of the whole process tree, in milliseconds.'),
    memoryBytes: limit('memoryBytes', 'Memory (files written to the sandbox count too), in bytes.'),
    pids: limit('pids', 'Processes and threads alive at once.'),
    outputBytes: limit('outputBytes', 'stdout, in bytes; the job is killed beyond it (verdict output_limit).'),
    stderrBytes: limit('stderrBytes', 'stderr, in bytes, a cap of its own beside stdout\'s; the job is killed beyond it (verdict output_limit).'),
    stackBytes: limit('stackBytes', 'Stack size of each process (RLIMIT_STACK), in bytes.'),
    diskBytes: limit('diskBytes', 'Size of the writable layer, in bytes.'),
    openFiles: limit('openFiles', 'Open file descriptors per process.'),
    fileSizeBytes: limit('fileSizeBytes', 'Largest file a process may write, in bytes.'),
    cpus: z
      .number()
      .min(MIN_LIMITS.cpus)
      .max(MAX_LIMITS.cpus)
      .optional()
      .openapi({
        description:
          `CPU cores' worth of time, all the job's processes together (the cgroup's CPU quota): 0.5 = half a core. ` +
          `Default ${DEFAULT_LIMITS.cpus}; at least ${MIN_LIMITS.cpus}, at most ${MAX_LIMITS.cpus} (the server's cores; above → 422).`,
        example: 0.5,
      }),
  } satisfies Record<keyof Limits, unknown>)
  .openapi('Limits');

/** A blob of the caller's (POST /v1/blobs): its bytes are read on the worker's host, not sent with the job. */
export const blobDigestSchema = z
  .string()
  .regex(BLOB_DIGEST_PATTERN, 'must be a blob digest, sha256: and 64 lower-case hex digits')
  .openapi({ description: 'A blob uploaded with POST /v1/blobs (sha256:<64 hex digits>).', example: 'sha256:' + 'e3b0c442'.repeat(8) });

const stdinSchema = z
  .union([z.string(), z.strictObject({ base64: z.base64() }), z.strictObject({ blob: blobDigestSchema })], {
    error: 'must be a string, { "base64": "..." } or { "blob": "sha256:..." }',
  })
  .superRefine((stdin, ctx) => {
    if (typeof stdin === 'object' && 'blob' in stdin) return; // bounded by the blob store, not the request
    const bytes = typeof stdin === 'string' ? Buffer.byteLength(stdin) : Buffer.byteLength(stdin.base64, 'base64');
    if (bytes > B.stdinBytes) tooBig(ctx, B.stdinBytes, `${bytes} bytes, above the maximum ${B.stdinBytes}`);
  })
  .openapi({
    description:
      `Bytes on the job's standard input: text, { "base64" } for binary (at most ${B.stdinBytes} bytes), or { "blob" }: ` +
      'a blob of yours (POST /v1/blobs), read on the worker\'s host without passing through the job request (an unknown blob → 422).',
  });

export const cmdSchema = z
  .array(z.string().max(B.cmdArgChars).refine(noNul, 'must not contain NUL'))
  .min(1)
  .max(B.cmdArgs)
  .refine((argv) => argv[0] !== '', { message: 'the program (first element) must not be empty', path: [0] })
  .openapi({ description: "argv. Absent: the image's Entrypoint + Cmd.", example: ['sh', '-c', 'echo hi'] });

const envSchema = maxEntries(
  z.record(
    z.string().max(B.envNameChars).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name: letters, digits and _, not starting with a digit'),
    z.string().max(B.envValueChars).refine(noNul, 'must not contain NUL'),
  ),
  B.envVars,
).openapi({ description: "The job's environment, added to the image's Env (the worker's own is never passed)." });

const fileSchema = z
  .strictObject({
    path: z
      .string()
      .max(B.filePathChars)
      .superRefine((path, ctx) => {
        const problem = filePathProblem(path);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .openapi({ description: "Relative to the job's working directory; no '..', no absolute paths.", example: 'main.py' }),
    content: z.string().optional().openapi({ description: 'The bytes, as `encoding` says. Either this or `blob`.' }),
    blob: blobDigestSchema.optional().openapi({ description: 'A blob of yours (POST /v1/blobs) as the content instead of `content`: the bytes do not travel with the job (an unknown blob → 422).' }),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
    mode: z
      .number()
      .int()
      .refine((m) => m >= 0 && m <= 0o777, 'must be permission bits, 0 to 0o777 (511)')
      .default(0o644)
      .openapi({ description: 'Unix permission bits, as a number (0o755 is 493).' }),
  })
  .superRefine((file, ctx) => {
    if ((file.content === undefined) === (file.blob === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of `content` and `blob`', path: ['content'] });
    }
    if (file.content !== undefined && file.encoding === 'base64' && !isBase64(file.content)) {
      ctx.addIssue({ code: 'custom', message: 'is not valid base64', path: ['content'] });
    }
  });

/** The inline bytes of a file (a blob's are bounded by the blob store, not the request). */
export function fileContentBytes(file: { content?: string | undefined; encoding: 'utf8' | 'base64' }): number {
  return file.content === undefined ? 0 : Buffer.byteLength(file.content, file.encoding === 'base64' ? 'base64' : 'utf8');
}

export const filesSchema = z
  .array(fileSchema)
  .max(B.files)
  .superRefine((files, ctx) => {
    const total = files.reduce((sum, f) => sum + fileContentBytes(f), 0);
    if (total > B.filesBytes) tooBig(ctx, B.filesBytes, `${total} bytes of contents in all, above the maximum ${B.filesBytes}`);
    const seen = new Set<string>();
    files.forEach((f, i) => {
      const path = normalizeFilePath(f.path);
      if (seen.has(path)) ctx.addIssue({ code: 'custom', message: `names ${path} twice`, path: [i, 'path'] });
      seen.add(path);
    });
  })
  .openapi({ description: `Placed in the working directory before the command runs. At most ${B.files} files, ${B.filesBytes} bytes in all.` });

const labelsSchema = maxEntries(
  z.record(z.string().min(1).max(B.labelKeyChars), z.string().max(B.labelValueChars)),
  B.labels,
).openapi({ description: 'Free-form tags, stored with the job and returned with it.' });

export const jobRequestSchema = z
  .strictObject({
    image: z
      .string()
      .min(1)
      .max(B.imageChars)
      .openapi({ description: 'Image reference, normalized like Docker does (busybox → docker.io/library/busybox:latest).', example: 'busybox' }),
    cmd: cmdSchema.optional(),
    entrypoint: z
      .array(z.string().max(B.cmdArgChars).refine(noNul, 'must not contain NUL'))
      .max(B.cmdArgs)
      .optional()
      .openapi({ description: "Replaces the image's Entrypoint (docker run --entrypoint); the image's Cmd is then not used either. [] clears it: `cmd` alone runs.", example: ['sh', '-c'] }),
    workdir: z
      .string()
      .superRefine((dir, ctx) => {
        const problem = workingDirTextProblem(dir);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `cannot be a working directory: ${problem}` });
      })
      .optional()
      .openapi({ description: "The job's working directory instead of the image's WorkingDir (docker run -w): absolute, made (as the job's user) if missing; files are placed in it.", example: '/tmp/build' }),
    stdin: stdinSchema.optional(),
    env: envSchema.optional(),
    files: filesSchema.optional(),
    limits: limitsSchema.optional(),
    network: z
      .enum(NETWORK_MODES, { error: `expected one of ${NETWORK_MODES.join(', ')}` })
      .default('none')
      .openapi({
        description:
          '`none` (the default): only loopback. `bridge` (docker\'s name for it): outbound IPv4 through NAT, and nothing ' +
          'else: no address of the host, no other sandbox, no private, link-local (cloud metadata), CGNAT, multicast or ' +
          'other special-purpose range unless the server allows it, no inbound connection (README "Network").',
        example: 'none',
      }),
    webhook: z
      .strictObject({ url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(B.webhookUrlChars) })
      .optional()
      .openapi({
        description:
          'Where the finished job is POSTed, signed (README "Webhooks"), retried with backoff; its attempts are at ' +
          'GET /v1/jobs/{id}/deliveries. A literal address or `localhost` in a refused range (loopback, private, ' +
          'link-local, CGNAT, multicast, reserved) is a 422 unless the server allows it; names are checked again ' +
          'when the delivery connects.',
        example: { url: 'https://example.com/hooks/warmbox' },
      }),
    labels: labelsSchema.optional(),
  })
  .openapi('JobRequest');

export type JobRequest = z.infer<typeof jobRequestSchema>;

/** ?wait=true&timeout=MS on POST /v1/jobs; the bound is the server's configured maximum wait. */
export function waitQuerySchema(maxWaitMs: number, defaultWaitMs: number) {
  return z.object({
    wait: z
      .enum(['true', 'false'])
      .optional()
      .openapi({ description: 'true: hold the request until the job finishes (200), or until the timeout (then 202).' }),
    timeout: z.coerce
      .number()
      .int()
      .min(0)
      .max(maxWaitMs)
      .optional()
      .openapi({
        type: 'integer',
        minimum: 0,
        maximum: maxWaitMs,
        description: `How long to wait, in milliseconds. Default ${defaultWaitMs}, at most ${maxWaitMs} (above → 422).`,
      }),
  });
}
