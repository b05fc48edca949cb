/** A validated request as the worker receives it: every default filled, every byte in base64. */
import { withDefaults } from '../contract/limits.js';
import type { JobFile, JobPayload } from '../contract/job-payload.js';
import { normalizeFilePath } from './file-path.js';
import type { JobRequest } from './schemas/job-request.js';

export function toJobPayload(request: JobRequest, id: string, image: string, createdAt: number): JobPayload {
  const payload: JobPayload = {
    id,
    image,
    stdinBase64: stdinBase64(request.stdin),
    env: request.env ?? {},
    files: (request.files ?? []).map(toJobFile),
    limits: withDefaults(request.limits),
    network: request.network,
    createdAt,
  };
  if (typeof request.stdin === 'object' && 'blob' in request.stdin) payload.stdinBlob = request.stdin.blob;
  if (request.cmd !== undefined) payload.cmd = request.cmd;
  if (request.entrypoint !== undefined) payload.entrypoint = request.entrypoint;
  if (request.workdir !== undefined) payload.workdir = request.workdir;
  return payload;
}

export function toJobFile(f: NonNullable<JobRequest['files']>[number]): JobFile {
  const path = normalizeFilePath(f.path);
  if (f.blob !== undefined) return { path, blob: f.blob, mode: f.mode };
  const content = f.content ?? '';
  return { path, contentBase64: f.encoding === 'base64' ? content : Buffer.from(content, 'utf8').toString('base64'), mode: f.mode };
}

function stdinBase64(stdin: JobRequest['stdin']): string {
  if (stdin === undefined) return '';
  if (typeof stdin === 'string') return Buffer.from(stdin, 'utf8').toString('base64');
  return 'base64' in stdin ? stdin.base64 : '';
}
