/**
 * The CLI's calls to /v1/images that ApiClient's JSON requests do not cover: NDJSON streams (pull,
 * build) read line by line as they come, and archive uploads streamed from a file or stdin.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ApiError, type ApiClient } from './api-client.js';

/** An image as GET /v1/images/{reference} shows it (the fields the CLI uses). */
export interface ImageView {
  reference: string;
  repository: string;
  tag: string | null;
  digest: string;
  /** Its layers uncompressed: the SIZE `warmbox images` (like `docker images`) shows. */
  unpackedBytes: number;
  /** Its blobs as stored, compressed: what a pull downloads (null for rows of older versions). */
  compressedBytes: number | null;
  createdAt: string;
}

export type StreamLine =
  | { type: 'status'; message: string }
  | { type: 'progress'; layer: string; status: string; doneBytes: number; totalBytes: number }
  | { type: 'log'; line: string }
  | { type: 'image'; image: ImageView }
  | { type: 'error'; error: { code: string; message: string; status: number } };

/** POSTs JSON and hands each NDJSON line to onLine; returns the image of the last line, or throws its error. */
export async function postStreaming(client: ApiClient, path: string, body: unknown, onLine: (line: StreamLine) => void): Promise<ImageView> {
  const res = await send(client, path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body) });
  if (!res.ok) throw await errorOf(res);
  if (!res.body) throw new ApiError(res.status, 'http_error', `POST ${path}: empty answer`);
  let last: StreamLine | undefined;
  let pending = '';
  for await (const chunk of res.body.pipeThrough(new TextDecoderStream()) as unknown as AsyncIterable<string>) {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const text = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (text === '') continue;
      last = JSON.parse(text) as StreamLine;
      if (last.type === 'error') throw new ApiError(last.error.status, last.error.code, last.error.message);
      onLine(last);
    }
  }
  if (last?.type !== 'image') throw new ApiError(0, 'stream_ended', `POST ${path}: the server's stream ended before the result`);
  return last.image;
}

/** Streams an archive (a file, or stdin for '-') to POST /v1/images/import; returns the images it held. */
export async function uploadArchive(client: ApiClient, file: string, reference?: string): Promise<ImageView[]> {
  const path = `/v1/images/import${reference !== undefined ? `?reference=${encodeURIComponent(reference)}` : ''}`;
  const headers: Record<string, string> = { 'content-type': 'application/x-tar' };
  if (file !== '-') headers['content-length'] = String((await stat(file)).size);
  const source = file === '-' ? process.stdin : createReadStream(file);
  const res = await send(client, path, { method: 'POST', headers, body: Readable.toWeb(source) as ReadableStream, duplex: 'half' } as RequestInit);
  if (!res.ok) throw await errorOf(res);
  return ((await res.json()) as { images: ImageView[] }).images;
}

async function send(client: ApiClient, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, client.baseUrl), { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...client.authHeaders() } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiError(0, 'unreachable', `cannot reach the warmbox server at ${client.baseUrl} (${cause}): is \`warmbox server\` running? (set WARMBOX_URL or --url)`);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    return new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
  } catch {
    return new ApiError(res.status, 'http_error', `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** What `docker images` shows as REPOSITORY: Docker Hub names short, others in full. */
export function displayRepository(repository: string): string {
  return repository.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** A reference as a user would type it: docker.io/library/busybox:latest → busybox:latest. */
export function displayReference(reference: string): string {
  return displayRepository(reference);
}
