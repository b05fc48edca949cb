/** A validated request as the worker receives it: every default filled, every byte in base64. */
import { withDefaults } from '../contract/limits.js';
import type { JobPayload } from '../contract/job-payload.js';
import { normalizeFilePath } from './file-path.js';
import type { JobRequest } from './schemas/job-request.js';

export function toJobPayload(request: JobRequest, id: string, image: string, createdAt: number): JobPayload {
  const payload: JobPayload = {
    id,
    image,
    stdinBase64: stdinBase64(request.stdin),
    env: request.env ?? {},
    files: (request.files ?? []).map((f) => ({
      path: normalizeFilePath(f.path),
      contentBase64: f.encoding === 'base64' ? f.content : Buffer.from(f.content, 'utf8').toString('base64'),
      mode: f.mode,
    })),
    limits: withDefaults(request.limits),
    network: request.network,
    createdAt,
  };
  if (request.cmd !== undefined) payload.cmd = request.cmd;
  if (request.entrypoint !== undefined) payload.entrypoint = request.entrypoint;
  if (request.workdir !== undefined) payload.workdir = request.workdir;
  return payload;
}

function stdinBase64(stdin: JobRequest['stdin']): string {
  if (stdin === undefined) return '';
  return typeof stdin === 'string' ? Buffer.from(stdin, 'utf8').toString('base64') : stdin.base64;
}
